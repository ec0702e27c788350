"""The forward half of DSBM-IMF's first iteration, read off its backward network instead of trained.

From the independent coupling Pi_0 = p_data x p_prior, iteration 1 trains the backward mean map of the Markovian
projection M(Pi_0). Its forward mean map is not new information: with a Gaussian prior N(mu, s2 I) and a linear
reference, X_k = u_k X_0 + w_k X_N + sd_k Z (M3') with X_N independent of X_0, so G = w_k X_N + sd_k Z is Gaussian and
independent of X_0, and

    E[X_0 | X_k = x]  from the backward mean:  B(x, k) = bp_k x + bq_k E[X_0 | x]          (M4'), k >= 1
    E[X_N | X_k = x]  = mu + c_k (x - u_k E[X_0 | x] - w_k mu),   c_k = w_k s2 / (w_k^2 s2 + sd_k^2)
    F(x, k)           = fp_k x + fq_k E[X_N | x]                                           (M4'), k <= N - 1

So iteration 2 of DSBM-IMF can skip its forward half: the forward chain of M(Pi_0) started from real data gives the
coupling Pi_1 whose projection the second backward half learns (the same IMF step, one network fewer). Exact only
for iteration 1's projection of the independent coupling; a probe of bench/mnist.py (--analytic-forward).
"""
import torch
from torch import nn
from dsb_nb.mean_matching import MeanNet

class ForwardFromBackward(nn.Module):
    "net(x, k) for the forward `MeanNet`: the drift correction whose mean map is F above, from a frozen backward net"
    def __init__(self, net_b:nn.Module, # the backward net of iteration 1 (a frozen copy is kept)
                 gammas, f, coeffs:dict, # the trainer's step sizes, reference drift and `linear_bridge_coeffs`
                 prior_mean:torch.Tensor, prior_var:float): # the prior N(mu, s2 I) in the trainer's units
        super().__init__()
        import copy
        self.B = MeanNet(copy.deepcopy(net_b).requires_grad_(False).eval(), gammas, f, 'backward', check=False)
        self.f, self.N = f, len(gammas)
        self.register_buffer('gammas', gammas.detach().clone())
        self.register_buffer('mu', prior_mean.detach().clone())
        c = coeffs
        den = c['w']**2*prior_var + c['sd']**2
        self.register_buffer('cN', torch.where(den > 0, c['w']*prior_var/den.clamp_min(1e-30), torch.zeros_like(den)))
        for k in ('u', 'w', 'fp', 'fq', 'bp', 'bq'): self.register_buffer(k, c[k].detach().clone())

    def forward(self, x, k):
        k = torch.as_tensor(k, device=x.device).expand(len(x)) if not torch.is_tensor(k) or k.dim() == 0 else k
        pad = lambda v: v.to(x.dtype).reshape(-1, *[1]*(x.dim() - 1))
        kb = k.clamp_min(1)                                   # the backward map is defined for k >= 1
        mb = self.B(x, kb)
        e0 = (mb - pad(self.bp[kb])*x)/pad(self.bq[kb])       # E[X_0 | X_k = x]
        e0 = torch.where(pad(k == 0).bool(), x, e0)           # k = 0: X_0 is x itself
        eN = self.mu + pad(self.cN[k])*(x - pad(self.u[k])*e0 - pad(self.w[k])*self.mu)
        mf = pad(self.fp[k])*x + pad(self.fq[k])*eN
        return (mf - x)/pad(self.gammas[k]) - self.f(x)      # MeanNet('forward'): x + gamma (f(x) + net(x, k))

def install(dsb, prior_mean=None, prior_var:float|None=None, n_prior:int=10_000):
    ("Make `dsb`'s forward EMA map the one read off its backward EMA net; the next backward half then trains on Pi_1. "
     "The prior N(mu, s2 I) is `prior_mean`/`prior_var` where known, else estimated from `n_prior` of its samples")
    if getattr(dsb, 'coupling', None) != 'independent' or dsb.f_trained:
        raise ValueError("the analytic forward map is iteration 1's of DSBM from the independent coupling only")
    with torch.no_grad():
        xp = dsb.prior(n_prior, torch.Generator(dsb.gen.device).manual_seed(12345)).to(dsb.device, torch.float64)
    mu = xp.mean(0) if prior_mean is None else torch.as_tensor(prior_mean, dtype=torch.float64).expand(xp.shape[1:])
    var = xp.var(0).mean().item() if prior_var is None else float(prior_var)
    wrap = ForwardFromBackward(dsb.ema_b.model, dsb.gammas, dsb.f, dsb.coeffs, mu.to(dsb.dtype), var).to(dsb.device)
    dsb.ema_f.model = wrap                                   # what `maps(ema=True)` and the cache use
    dsb.f_trained = True
    return wrap
