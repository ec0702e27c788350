#!/usr/bin/env python
"""Which default? Every candidate default of `bridge()` on tasks that span the regimes users meet (notebook 18).

The regime of a task is the ratio rho = (reference noise) / (squared distance the data travels)
                                  = d * s_N / W2^2(p_data, p_prior),
with s_N the variance of X_N given X_0 under the reference (2T for the Brownian one) and W2 estimated on 1,000 samples
of each end. It runs from about 0.001 (data spread far beyond the noise: the authors' 2-D setting, real data with a
small eps) to about 10 (noise larger than the data's displacement).

Candidates: each solver with the library's defaults (TimeMLP 'auto', bs 128, lr 1e-3, cosine, EMA, n_cache 4000, cache
every 250 steps, 2000 steps per half, N and T as the task gives), 5 IPF iterations, scored after every iteration:
  dsbm-ref   DSBM, coupling='reference' (the default of 0.2.0)   dsbm-ind   DSBM, coupling='independent'
  dsbm-ot    DSBM, coupling='ot' (minibatch-OT start)            sbcfm      SBCFM (minibatch-OT pairs for every half)
  dsb        DSB (Algorithm 1)
The budget is the same for all: 5 x 2 x 2000 gradient steps; wall time is recorded next to it.

Scores (lower is better), with each task's references:
* exact tasks (Gaussian and Gaussian-mixture bridges in closed form): cBW2-UVP (%) of the forward chain's conditional
  law against the exact one (`dsb_nb.accuracy.cbw2_uvp`), next to the same estimator on exact samples (the floor);
* sample tasks (2-D toys, real data): energy distance of each generated end to held-out samples of its target, next to
  the floor (held-out vs training samples of the target, same size), and W2 for the 2-D ones; the score is the mean over
  the two ends of distance / floor. `mid` is the energy distance between the model's midpoints and those of
  reference pairs from an OT plan (S2) between the held-out sets (information, not ranked).
  One draw of that score is noisy (exact samples score 0.26-3.7 on the 2-D tasks), so the last iteration is also
  scored by `rank_scores`: the unbiased energy distance on 20,000 samples per end, as `rank` (1 = exact samples, noise
  about 0.05). `--calibrate` records, per task, what exact samples score both ways (references.rank_exact).

Jobs run in parallel processes (`--jobs`, one torch thread each) and are appended to the JSON as they finish, so an
interrupted run continues where it stopped. Writes bench/results/regimes.json and .png, copied to nbs/results and nbs/figs.

    python bench/regimes.py --jobs 2                       # everything (CPU: about 2 hours on 2 cores)
    python bench/regimes.py --tasks gauss10_eps0.01 --variants dsbm-ot sbcfm --seeds 0 1
    python bench/regimes.py --plot-only
    # bridge()'s default grid (notebook 18, 'The default grid'): every candidate on 20 and 100 steps of T = 0.5
    python bench/regimes.py --tasks moons_gen checker_gen circles_8g --variants dsb dsbm-ref dsbm-ind dsbm-ot sbcfm \
        dsb-N100 dsbm-ref-N100 dsbm-ind-N100 dsbm-ot-N100 sbcfm-N100 --seeds 0 1 --jobs 2 --out bench/results/regimes_defaultgrid
    python bench/regimes.py --tasks digits64_T0.5 mnist50_T0.5 --variants sbcfm sbcfm-N100 --seeds 0 1 --jobs 2 \
        --out bench/results/regimes_defaultgrid       # the real data sets on bridge()'s default T = 0.5
    # ranking near the floor (notebook 18, 'Ranking near the floor'): the default and its rivals, scored with `rank`
    python bench/regimes.py --tasks checker_gen moons_gen circles_8g --variants dsbm-ind-N100 dsbm-ind dsbm-ind-N50 \
        sbcfm sbcfm-N100 --seeds 0 1 --jobs 2 --out bench/results/regimes_rank
    python bench/regimes.py --tasks checker_gen moons_gen circles_8g --calibrate --out bench/results/regimes_rank
"""
import argparse, math, statistics, sys, time
from pathlib import Path
import torch

from _common import (root, publish_fig, publish_json, machine, use_local_data, results, read_results, write_results, pca_basis,
                     ot_bridge_midpoint)

OUT = root/'bench'/'results'/'regimes'
VARIANTS = {'dsbm-ref': ('dsbm', dict(coupling='reference')), 'dsbm-ind': ('dsbm', dict(coupling='independent')),
            'dsbm-ot': ('dsbm', dict(coupling='ot')), 'sbcfm': ('sbcfm', {}), 'dsb': ('dsb', {})}
# probes: not candidates (not in a default run, not in regimes.json), asked for by name with --variants and --out
PROBES = {'sbcfm-ob4096': ('sbcfm', dict(ot_bs=4096)),   # SB-CFM with one OT problem per 4,096-pair cache
          'dsbm-ot-ob4096': ('dsbm', dict(coupling='ot', ot_bs=4096)),   # DSBM's OT start, one OT problem per cache
          # torchcfm's SB-CFM (bench/vs_torchcfm.py; `pip install torchcfm`) with its default exact plan and with Sinkhorn;
          # Brownian tasks only (no 'authors_scurve'); one `fit` = n_steps updates of both networks
          'dsbm-ind-me': ('dsbm_me', dict(coupling='independent')),   # bench/_probe_match.py
          'sbcfm-run': ('sbcfm', dict(lr_schedule='cosine_run')),   # SB-CFM with one learning-rate cycle over the run
          'sbcfm-run-cap': ('sbcfm', dict(lr_schedule='cosine_run', ema_decay=0.998)),   # the same, EMA capped (old default)
          'dsbm-ind-run': ('dsbm', dict(coupling='independent', lr_schedule='cosine_run')),   # DSBM-IMF, one cycle over the run
          'dsbm-ot-run': ('dsbm', dict(coupling='ot', lr_schedule='cosine_run')),   # DSBM's OT start, one cycle over the run
          'sbcfm-emd': ('sbcfm', dict(ot_method='emd')),   # SB-CFM on exact-OT pairs ('auto' at small reg in 0.2.0)
          'torchcfm-exact': ('torchcfm', dict(ot_method='exact')), 'torchcfm-sinkhorn': ('torchcfm', dict(ot_method='sinkhorn')),
          }
# any candidate on the task's time grid refined to k steps of the same T: '<candidate>-N<k>', e.g. 'sbcfm-N100' (the advice
# of `grid_floor`'s warning at eps = 50; with 100, bridge()'s default grid for DSBM and SB-CFM)
TASKS = ['gauss10_eps0.01', 'gauss10_eps0.3', 'gauss10_eps3', 'gauss10_eps50', 'mix2shift_eps0.1', 'mix2shift_eps2', 'mix2_eps1', 'mix16_eps1',
         'authors_scurve', 'moons_gen', 'digits64', 'mnist50']
# held-out tasks on bridge()'s default grid (not in a default run): asked for by name with --tasks and --out
EXTRA_TASKS = ['checker_gen', 'circles_8g', 'digits64_T0.5', 'mnist50_T0.5', 'mix2_eps0.1']   # (last: accuracy.py's)
# any other mixture of `MixtureBridge(d, eps)` (seed 0), as is or moved by 8, is a held-out task too: 'mix<d>_eps<eps>',
# 'mix<d>shift_eps<eps>' (e.g. 'mix8_eps0.03', used to test the block check of notebook 18 away from 'mix2_eps0.1')
def known_task(name:str)->bool:
    import re
    return name in TASKS + EXTRA_TASKS or re.fullmatch(r'mix\d+(shift)?_eps\d*\.?\d+', name) is not None

def parse_variant(name:str):
    "(method, solver kwargs) of a candidate, a probe or '<candidate>-N<k>' (kwargs then hold n_grid=k)"
    import re
    if name in VARIANTS or name in PROBES: return {**VARIANTS, **PROBES}[name]
    m = re.fullmatch(r'(.+)-N(\d+)', name)
    if m and (m[1] in VARIANTS or m[1] in PROBES):
        method, kw = {**VARIANTS, **PROBES}[m[1]]; return method, dict(kw, n_grid=int(m[2]))
    raise ValueError(f"Unknown variant {name!r}: expected one of {[*VARIANTS, *PROBES]} or '<candidate>-N<steps>'")

# ---------------------------------------------------------------- exact tasks with the interface of `MixtureBridge`
class GaussianTask:
    "The Schrödinger bridge between N(mu0, S0) and N(mu1, S1) (Brownian reference, variance eps): exact conditional laws"
    def __init__(self, mu0, S0, mu1, S1, gammas):
        from dsb_nb.gaussian import gaussian_bridge
        self.mu0, self.S0, self.mu1, self.S1, self.d = mu0, S0, mu1, S1, len(mu0)
        C = gaussian_bridge(mu0, S0, mu1, S1, gammas)['cov'][:self.d, self.d:]
        self.K = torch.linalg.solve(S0, C).T                                   # E[X_N | x_0] = mu1 + K (x_0 - mu0)
        self.Sc = S1 - self.K@C
        I = torch.eye(self.d, dtype=torch.float64)
        self.L0, self.Lc = torch.linalg.cholesky(S0), torch.linalg.cholesky(self.Sc + 1e-12*I)
    def sample_p0(self, n, gen=None): return self.mu0 + torch.randn(n, self.d, generator=gen, dtype=torch.float64)@self.L0.T
    def cond_moments(self, x):
        return self.mu1 + (x.double() - self.mu0)@self.K.T, self.Sc.expand(len(x), self.d, self.d)
    def sample_cond(self, x, gen=None):
        return self.cond_moments(x)[0] + torch.randn(len(x), self.d, generator=gen, dtype=torch.float64)@self.Lc.T
    def sample_p1(self, n, gen=None): return self.sample_cond(self.sample_p0(n, gen), gen)

class ShiftedMixture:
    "A `MixtureBridge` whose far end is moved by `v`: the squared-distance cost makes the bridge move with it"
    def __init__(self, mb, v): self.mb, self.v, self.d = mb, v, mb.d
    def sample_p0(self, n, gen=None): return self.mb.sample_p0(n, gen)
    def cond_moments(self, x): m, S = self.mb.cond_moments(x); return m + self.v, S
    def sample_cond(self, x, gen=None): return self.mb.sample_cond(x, gen) + self.v
    def sample_p1(self, n, gen=None): return self.sample_cond(self.sample_p0(n, gen), gen)

def _samplers(task):
    "float32 samplers f(n, gen) of both ends of an exact task (drawn on the CPU)"
    cpu = lambda gen: gen if gen is None or gen.device.type == 'cpu' else None
    return (lambda n, gen=None: task.sample_p0(n, cpu(gen)).float(), lambda n, gen=None: task.sample_p1(n, cpu(gen)).float())

# ---------------------------------------------------------------- sample tasks
def _split(x, frac, seed):
    "Shuffle and split rows: (training set, held-out set)"
    i = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    k = int(len(x)*(1 - frac))
    return x[i[:k]], x[i[k:]]

def _real(name):
    "Two groups of a real data set (digits 0-4 -> 5-9), scaled by one pooled mean and std: (x0, x1) float32"
    if name == 'digits64':
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True); X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    else:                                                  # mnist50: 50 principal components of the 10,000 MNIST test images
        use_local_data()
        from dsb_nb.metrics import load_mnist
        X, y = load_mnist(train=False); X = X.flatten(1)
        X = X - X.mean(0); X = X@pca_basis(X, 50)         # exact PCA (a randomized one varied from run to run)
    X = (X - X.mean(0))/X.std(0).mean()                    # unit mean standard deviation, as a user would scale the data
    return X[y < 5], X[y >= 5]

def task_spec(name):
    "Samplers, schedule, reference and evaluation of a task"
    from dsb_nb.reference import make_gammas, ou
    from dsb_nb.accuracy import random_cov, MixtureBridge
    from dsb_nb.dsb import gaussian_sampler
    if name.startswith('gauss10'):
        eps, d = float(name.split('eps')[1]), 10
        g = torch.Generator().manual_seed(3)
        S0, S1 = random_cov(d, 0.1, 10., g), random_cov(d, 0.1, 10., g)
        gammas = make_gammas(20, T=eps/2)
        task = GaussianTask(torch.zeros(d, dtype=torch.float64), S0, torch.full((d,), 2/math.sqrt(d), dtype=torch.float64)*3, S1, gammas.double())
        return dict(kind='exact', task=task, gammas=gammas, f=None, d=d, label=f'Gaussian d=10, eps={eps:g}')
    if name.startswith('mix'):
        d, eps = int(name[3:].split('shift')[0].split('_')[0]), float(name.split('eps')[1])
        mb = MixtureBridge(d, eps)
        task = ShiftedMixture(mb, torch.tensor([8.] + [0.]*(d - 1), dtype=torch.float64) if 'shift' in name else torch.zeros(d, dtype=torch.float64))
        return dict(kind='exact', task=task, gammas=make_gammas(20, T=eps/2), f=None, d=d,
                    label=f"mixture d={d}, eps={eps:g}" + (", far end moved by 8" if 'shift' in name else ''))
    if name == 'authors_scurve':
        sys.path.insert(0, str(root/'bench')); from toys2d import s_curve_authors
        data, stats = s_curve_authors(10_000, 0)
        held0 = s_curve_authors(2_000, 1, stats)[0]
        mean, var = data[:100].mean(0), data[:100].var(0).mean().item()
        prior = gaussian_sampler(2, mean=mean, std=math.sqrt(var))
        return dict(kind='samples', data=data, prior=prior, held0=held0, held1=prior(2000, torch.Generator().manual_seed(1)),
                    exact0=lambda n, g: s_curve_authors(n, g.initial_seed(), stats)[0], exact1=prior,
                    gammas=make_gammas(20, T=0.2), f=ou(1/var), d=2, w2=True,
                    label="authors' 2-D setting (s-curve x7, N=20, T=0.2, OU to a fitted prior)")
    if name in ('checker_gen', 'circles_8g'):                # held-out tasks on bridge()'s default grid (T = 0.5, Brownian)
        from dsb_nb.toys2d import checkerboard, circles, eight_gaussians
        src = checkerboard if name == 'checker_gen' else circles
        data, held0 = src(10_000, torch.Generator().manual_seed(0)), src(2_000, torch.Generator().manual_seed(1))
        if name == 'checker_gen': prior, lab = gaussian_sampler(2), "checkerboard -> N(0, I)"
        else: prior, lab = eight_gaussians(10_000, torch.Generator().manual_seed(2)), "circles -> eight Gaussians"
        exact1 = prior if callable(prior) else eight_gaussians
        held1 = exact1(2000, torch.Generator().manual_seed(3))
        return dict(kind='samples', data=data, prior=prior, held0=held0, held1=held1, exact0=src, exact1=exact1,
                    gammas=make_gammas(20, T=0.5), f=None, d=2,
                    w2=True, label=lab + ", T=0.5 (bridge()'s default T)")
    if name == 'moons_gen':
        from dsb_nb.toys2d import moons
        data, held0 = moons(10_000, torch.Generator().manual_seed(0)), moons(2_000, torch.Generator().manual_seed(1))
        prior = gaussian_sampler(2)
        return dict(kind='samples', data=data, prior=prior, held0=held0, held1=prior(2000, torch.Generator().manual_seed(2)),
                    exact0=moons, exact1=prior, gammas=make_gammas(20, T=0.5), f=None, d=2, w2=True, label="moons -> N(0, I), T=0.5 (bridge()'s default grid)")
    if name.split('_T')[0] in ('digits64', 'mnist50'):       # '<name>_T0.5': the same data on bridge()'s default T
        base, T = name.split('_T')[0], float(name.split('_T')[1]) if '_T' in name else 0.05
        x0, x1 = _real(base)
        d0, h0 = _split(x0, 0.3, 0); d1, h1 = _split(x1, 0.3, 1)
        return dict(kind='samples', data=d0, prior=d1, held0=h0[:1000], held1=h1[:1000], gammas=make_gammas(20, T=T), f=None,
                    d=x0.shape[1], w2=False, label=f"{'sklearn digits (64 px)' if base == 'digits64' else 'MNIST, 50 PCA components'}: "
                    f"digits 0-4 -> 5-9, unit mean std, eps=2T={2*T:g}")
    raise ValueError(f"Unknown task {name!r}: expected one of {TASKS + EXTRA_TASKS}")

def _draw(src, n, seed):
    from dsb_nb.dsb import as_sampler
    return as_sampler(src)(n, torch.Generator().manual_seed(seed)).float()

def bias(spec, seed:int=0)->float:
    ("`dsb_nb.dsbm.block_bias` of the task (the trainers' blocks of 1,024 against one of 4,096); "
     "seed 0: what `bridge()` reads")
    from dsb_nb.dsbm import block_bias
    x0, x1 = _samplers(spec['task']) if spec['kind'] == 'exact' else (spec['data'], spec['prior'])
    return block_bias(x0, x1, spec['gammas'], spec['f'], seed=seed)

def rho(spec, n=1000)->float:
    "The task's regime d * s_N / W2^2(p_data, p_prior) (`dsb_nb.dsbm.regime`) on n samples of each end"
    from dsb_nb.dsbm import regime
    if spec['kind'] == 'exact': x0, x1 = (s(n, torch.Generator().manual_seed(7)) for s in _samplers(spec['task']))
    else: x0, x1 = _draw(spec['data'], n, 7), _draw(spec['prior'], n, 8)
    return regime(x0, x1, spec['gammas'], spec['f'], n=n)

# ---------------------------------------------------------------- evaluation
def chain_bound(spec, c:float)->float:
    """On a Gaussian task, the cBW2-UVP (%) below which a sampler cannot go if its last step adds Gaussian noise of
    variance `c` per coordinate (then Var(X_N | x_0) >= c I): the best such covariance in the eigenbasis of the exact
    conditional covariance Sc raises each eigenvalue below c to c; the mean is taken exact. A discrete chain of the
    library has c = 2 gamma_N; torchcfm's Euler-Maruyama sampler has c = sigma^2 / (its number of steps)"""
    t = spec['task']
    lam = torch.linalg.eigvalsh(t.Sc)
    var1 = torch.cov(t.sample_p1(100_000, torch.Generator().manual_seed(0)).T).trace()
    return (100*((lam.clamp(min=c).sqrt() - lam.sqrt())**2).sum()/(0.5*var1)).item()

def references(spec, cache):
    "Held-out sets, floors and the reference midpoints of a sample task (computed once per task)"
    from dsb_nb.score_matching import w2, energy_distance
    if cache: return cache
    h0, h1 = spec['held0'], spec['held1']
    t0, t1 = _draw(spec['data'], len(h0), 11), _draw(spec['prior'], len(h1), 12)
    cache.update(floor0=energy_distance(t0, h0), floor1=energy_distance(t1, h1))
    if spec['w2']: cache.update(w2_floor0=w2(t0, h0), w2_floor1=w2(t1, h1))
    n = min(len(h0), len(h1))
    cache['mid_ref'] = ot_bridge_midpoint(h0[:n], h1[:n], spec['gammas'], getattr(spec['f'], 'alpha', 0.), block=n,
                                          gen=torch.Generator().manual_seed(13),
                                          noise_gen=torch.Generator().manual_seed(14)).float()
    return cache

def evaluate(model, spec, cache)->dict:
    "Scores of a trained solver after one IPF iteration"
    from dsb_nb.score_matching import w2, energy_distance
    from dsb_nb.accuracy import cbw2_uvp
    if spec['kind'] == 'exact':
        u, fl = cbw2_uvp(lambda x: model.sample(direction='forward', x=x), spec['task'], 200, 300, seed=0)
        return dict(score=u, cbw2_uvp=u, floor=fl)
    r = references(spec, cache)
    h0, h1 = spec['held0'], spec['held1']
    x0 = model.sample(len(h0), 'backward').cpu()                     # generated data end
    tr = model.sample(len(r['mid_ref']), 'forward', x=h0[:len(r['mid_ref'])], return_traj=True).cpu()
    x1 = model.sample(len(h1), 'forward').cpu()                      # generated prior end
    out = dict(e0=energy_distance(x0, h0), e1=energy_distance(x1, h1), floor0=r['floor0'], floor1=r['floor1'],
               mid=energy_distance(tr[len(tr)//2], r['mid_ref']))
    if spec['w2']: out.update(w2_0=w2(x0, h0), w2_1=w2(x1, h1), w2_floor0=r['w2_floor0'], w2_floor1=r['w2_floor1'])
    out['score'] = (out['e0']/out['floor0'] + out['e1']/out['floor1'])/2
    return out

RANK_N = 20_000       # generated (and, where the law is known, fresh exact) samples per end for the low-noise score

def rank_scores(model, spec, n:int=RANK_N)->dict:
    """The final score with its noise cut down (sample tasks). One draw of the score's energy distance (V-statistic,
    2,000 points a side) varies by 50-70% around its mean on these tasks, as much as the gaps between candidates.
    Here each end's distance is the unbiased energy distance U (`energy_distance(unbiased=True)`) between n generated
    samples and n fresh exact ones (where the task's law is known; else the held-out set, whose own noise stays), over
    b = E|Y - Y'| x 2 / m, the mean of the V-statistic's floor at the held-out size m. rank = 1 + the mean over the two
    ends of U / b: what the score is on average (1 = as good as exact samples), to about 0.05 at n = 20,000.
    rank_se: from 4 disjoint blocks of each end's samples (std / 2: exact for a non-degenerate U, cautious near the floor)."""
    from dsb_nb.score_matching import energy_distance, energy_se, _mean_dist
    out, ratios, ses = {}, [], []
    for end, direction in ((0, 'backward'), (1, 'forward')):
        exact, held = spec.get(f'exact{end}'), spec[f'held{end}']
        m = len(held)
        gen = model.sample(n if exact else min(n, 5*m), direction).cpu().float()
        ref = exact(len(gen), torch.Generator().manual_seed(40 + end)).float() if exact else held
        b = 2*_mean_dist(ref.double().flatten(1), ref.double().flatten(1))*len(ref)/(len(ref) - 1)/m
        u = energy_distance(gen, ref, unbiased=True)
        if exact: se = energy_se(gen, ref)                   # 4 disjoint blocks of both samples
        else:                                                  # the held-out set is small: each block against all of it
            blocks = [energy_distance(g, ref, unbiased=True) for g in gen.tensor_split(4)]
            se = statistics.stdev(blocks)/2
        out.update({f'u{end}': u, f'b{end}': b, f'u{end}_se': se})
        ratios.append(u/b); ses.append(se/b)
    return dict(rank=1 + sum(ratios)/2, rank_se=math.sqrt(sum(s*s for s in ses))/2, rank_n=n, **out)

class _Exact:
    "A stand-in 'model' that samples a sample task's exact laws (fresh seeds per call): what a perfect solver scores"
    def __init__(self, spec): self.spec, self.calls = spec, 0
    def sample(self, n, direction='backward', **kw):
        self.calls += 1
        return self.spec['exact0' if direction == 'backward' else 'exact1'](n, torch.Generator().manual_seed(1000 + self.calls))

def calibrate(task, draws:int=20)->dict:
    """What exact samples score on a sample task whose laws are known: the one-draw score (2,000 fresh samples per end
    against the task's held-out sets and floors) over `draws` draws, and `rank_scores` once"""
    from dsb_nb.score_matching import energy_distance
    spec, cache = task_spec(task), {}
    if spec['kind'] != 'samples' or 'exact0' not in spec: raise ValueError(f"task {task!r} has no exact sampler to calibrate with")
    r, ex = references(spec, cache), _Exact(spec)
    one = [(energy_distance(ex.sample(2000, 'backward'), spec['held0'])/r['floor0']
            + energy_distance(ex.sample(2000, 'forward'), spec['held1'])/r['floor1'])/2 for _ in range(draws)]
    return dict(one_draw=dict(median=statistics.median(one), lo=min(one), hi=max(one), values=one), **rank_scores(ex, spec))

def run_job(task, variant, seed, iters, steps):
    "Train one candidate on one task with the library's defaults; scores after every IPF iteration"
    torch.set_num_threads(1)
    from dsb_nb.solvers import SOLVERS
    from dsb_nb.accuracy import fit_scored
    spec, cache = task_spec(task), {}
    method, kw = parse_variant(variant)
    data, prior = _samplers(spec['task']) if spec['kind'] == 'exact' else (spec['data'], spec['prior'])
    if method == 'torchcfm': from vs_torchcfm import TorchcfmSB
    if method == 'dsbm_me': from _probe_match import DSBMMatched
    if 'n_grid' in kw:                                       # the same T on a finer grid of constant steps
        from dsb_nb.reference import make_gammas
        kw = dict(kw); spec['gammas'] = make_gammas(kw.pop('n_grid'), T=spec['gammas'].double().sum().item())
    t0 = time.time()
    cls = TorchcfmSB if method == 'torchcfm' else DSBMMatched if method == 'dsbm_me' else SOLVERS[method]
    model = cls(data, prior, spec['gammas'], f=spec['f'], seed=seed, progress=False, n_steps=steps, **kw)
    curve = []
    def score(m, train_s, it=None): curve.append(dict(ipf=it or m.n, train_s=train_s, **evaluate(m, spec, cache)))
    if method == 'torchcfm':                        # `iters` calls of n_steps updates, scored at the end of the budget
        ts = time.time()
        for _ in range(iters): model.fit()
        score(model, time.time() - ts, iters)
    else: fit_scored(model, iters, score)           # one `fit` call, scored after each iteration
    if spec['kind'] == 'samples': curve[-1].update(rank_scores(model, spec))     # the last iteration, scored with less noise
    extra = dict(ot_fallback_steps=model.fallbacks) if method == 'torchcfm' else {}
    return dict(task=task, variant=variant, seed=seed, label=spec['label'], kind=spec['kind'], d=spec['d'], curve=curve,
                wall_s=time.time() - t0, grad_steps=2*iters*steps, **extra)

def _key(r): return f"{r['task']}|{r['variant']}|{r['seed']}"

def main():
    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tasks', nargs='*', default=TASKS); p.add_argument('--variants', nargs='*', default=list(VARIANTS))
    p.add_argument('--seeds', nargs='*', type=int, default=[0]); p.add_argument('--iters', type=int, default=5)
    p.add_argument('--steps', type=int, default=2000); p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--out', default=str(OUT)); p.add_argument('--plot-only', action='store_true')
    p.add_argument('--bias', action='store_true', help="only record `block_bias` of --tasks (res['block_bias'])")
    p.add_argument('--bias-draws', type=int, default=1,
                   help="--bias: seeds 0..k-1 of the check (res['block_bias_draws'])")
    p.add_argument('--calibrate', action='store_true', help="only score exact samples of --tasks (references.rank_exact)")
    a = p.parse_args()
    path = Path(a.out + '.json')
    res = read_results(path) if path.exists() else results('regimes', dict(iters=a.iters, steps=a.steps,
        note="library defaults; budget 5 x 2 x 2000 gradient steps per run; one torch thread per job"), [], machine('cpu', 1),
        cpu_reduced=False, rho={})
    for v in a.variants: parse_variant(v)                                    # fail before any job on a misspelt name
    for t in a.tasks:
        if not known_task(t): raise ValueError(f"Unknown task {t!r}: expected one of {TASKS + EXTRA_TASKS}")
    if a.bias:
        for t in a.tasks:                                    # seed 0 (bridge()'s draw), and --bias-draws in all
            b = [bias(task_spec(t), s) for s in range(a.bias_draws)]
            res = read_results(path) if path.exists() else res
            res.setdefault('block_bias', {})[t] = b[0]
            if a.bias_draws > 1: res.setdefault('block_bias_draws', {})[t] = b
            write_results(path, res)
            print(f"{t}: block_bias {' '.join(f'{x:.3f}' for x in b)}", flush=True)
        publish_json(path); return
    if a.calibrate:
        for t in a.tasks:
            c = calibrate(t)
            res = read_results(path) if path.exists() else res
            res.setdefault('references', {}).setdefault('rank_exact', {})[t] = c
            write_results(path, res)
            print(f"{t}: exact samples score {c['one_draw']['lo']:.2f}-{c['one_draw']['hi']:.2f} (one draw, median "
                  f"{c['one_draw']['median']:.2f}); rank {c['rank']:.3f} +- {c['rank_se']:.3f}", flush=True)
        publish_json(path); return
    if not a.plot_only:
        for t in a.tasks:
            if t not in res['rho']: res['rho'][t] = rho(task_spec(t)); write_results(path, res)
        done = {_key(r) for r in res['rows']}
        jobs = [(t, v, s) for s in a.seeds for t in a.tasks for v in a.variants if f'{t}|{v}|{s}' not in done]
        print(f"{len(jobs)} jobs, {a.jobs} at a time", flush=True)
        from concurrent.futures import ProcessPoolExecutor, as_completed
        import multiprocessing as mp
        with ProcessPoolExecutor(a.jobs, mp_context=mp.get_context("spawn")) as ex:
            futs = {ex.submit(run_job, t, v, s, a.iters, a.steps): (t, v, s) for t, v, s in jobs}
            for f in as_completed(futs):
                try: r = f.result()
                except Exception as e: print(f"FAILED {futs[f]}: {type(e).__name__}: {e}", flush=True); continue
                res = read_results(path) if path.exists() else res              # another process may have added rows
                res['rows'] = [x for x in res['rows'] if _key(x) != _key(r)] + [r]
                write_results(path, res)
                print(f"{r['task']:18s} {r['variant']:9s} seed {r['seed']}: score " + ' '.join(f"{c['score']:.3g}" for c in r['curve'])
                      + f"  ({r['wall_s']:.0f}s)", flush=True)
    plot(res, Path(a.out + '.png'))
    publish_json(path); publish_fig(Path(a.out + '.png'))

def summarise(res)->dict:
    "Per task: the median (over seeds) final score of each variant, and each variant's ratio to the best"
    from statistics import median
    out = {}
    for t in dict.fromkeys(r['task'] for r in res['rows']):
        sc = {}
        for r in res['rows']:
            if r['task'] == t: sc.setdefault(r['variant'], []).append(r['curve'][-1]['score'])
        med = {v: median(s) for v, s in sc.items()}
        best = min(med.values())
        out[t] = {v: dict(score=m, ratio=m/best, n=len(sc[v])) for v, m in med.items()}
    return out

def plot(res, png):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    tasks = [t for t in TASKS + EXTRA_TASKS if any(r['task'] == t for r in res['rows'])]
    tasks += [t for t in dict.fromkeys(r['task'] for r in res['rows']) if t not in tasks]   # held-out mixtures
    if not tasks: return
    ncol = 4; nrow = math.ceil(len(tasks)/ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(3.3*ncol, 2.7*nrow), squeeze=False)
    for ax, t in zip(axs.flat, tasks):
        for i, v in enumerate(dict.fromkeys([*VARIANTS, *(r['variant'] for r in res['rows'])])):
            rs = [r for r in res['rows'] if r['task'] == t and r['variant'] == v]
            for j, r in enumerate(rs):
                ax.plot([c['ipf'] for c in r['curve']], [c['score'] for c in r['curve']], 'o-', ms=2.5, c=f'C{i}', alpha=0.8,
                        label=v if j == 0 else None)
        rs = [r for r in res['rows'] if r['task'] == t]
        if rs and rs[0]['kind'] == 'exact': ax.axhline(rs[0]['curve'][-1]['floor'], c='0.5', ls=':', lw=1); ax.set_ylabel('cBW2-UVP (%)')
        else: ax.axhline(1, c='0.5', ls=':', lw=1); ax.set_ylabel('distance / floor (mean of ends)')
        ax.set_yscale('log'); ax.set_xlabel('IPF iteration')
        ax.set_title(f"{t} (rho {res['rho'].get(t, float('nan')):.2g})", fontsize=8)
    axs.flat[0].legend(fontsize=6)
    for ax in list(axs.flat)[len(tasks):]: ax.axis('off')
    fig.tight_layout(); fig.savefig(png, dpi=90); plt.close(fig)

if __name__ == '__main__': main()
