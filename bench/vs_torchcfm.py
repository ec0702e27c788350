#!/usr/bin/env python
"""torchcfm's SB-CFM next to dsb_nb on the accuracy tasks with a Brownian reference (notebook 19).

torchcfm (Tong et al.'s conditional flow matching library) has one Schrödinger-bridge method, SB-CFM: a velocity
network v(t, x) and a score network s(t, x) regressed on Brownian bridges between minibatch-OT pairs of the two
samples. It knows only the Brownian reference, so the tasks are those of bench/accuracy.py with one: the eight
Gaussian tasks with `ref='brownian'` (d = 2, 10, 20, 50; generation and transfer; reference variance 2T = 1) and
both mixture tasks (d = 2, eps = 0.1 and d = 16, eps = 1). Each is trained twice, with torchcfm's default plan
(`ot_method='exact'`: exact OT on each minibatch, which is not the entropic plan of the bridge) and with the entropic
plan its docstring calls correct as the batch grows (`'sinkhorn'`, reg = 2 sigma^2; where the kernel underflows,
torchcfm falls back to the independent coupling with a warning).

Budget: the same as the dsb_nb rows it is compared with: 10,000 gradient steps, each updating both networks, is as
many network updates as 5 IPF iterations of 2 x 2,000 steps on two networks (`bridge()`'s default run in
bench/results/accuracy/*_auto.json, and DSBM's 5th iteration); batch 128, Adam lr 1e-3 (dsb_nb's defaults);
networks: torchcfm's own `MLP` (3 hidden SELU layers, time as an input) with the hidden width of dsb_nb's default
network, max(128, 4d), instead of its default 64.

Scores, as in bench/accuracy.py: for Gaussian tasks the raw KL of the generative coupling (X_0, X_N), prior -> data
by the reverse-time SDE, drift -(v - s), 100 Euler-Maruyama steps, 10,000 pairs), next to the floor (the KL of
10,000 exact pairs); for mixtures the cBW2-UVP (%) of the forward conditional (forward SDE, drift v + s) and its
estimator floor. The dsb_nb columns are read from bench/results/accuracy/ (same tasks, seeds and scorer).

`TorchcfmSB` puts the same training step behind the interface bench/regimes.py scores, for its torchcfm probes.
torchcfm draws pairs from its plans with NumPy, so each run seeds NumPy as well as torch.

    pip install torchcfm            # not a dsb_nb dependency; only this script needs it
    python bench/vs_torchcfm.py --jobs 2          # writes bench/results/vs_torchcfm.json and .png (CPU, 1 thread each)
    python bench/vs_torchcfm.py --steps 200 --out /tmp/t   # a quick check
"""
import argparse, json, math, time, warnings
from pathlib import Path
import numpy as np
import torch
from _common import root, machine, results, read_results, write_results, publish_fig

OUT = root/'bench'/'results'/'vs_torchcfm'
ACC = root/'bench'/'results'/'accuracy'
TASKS = ([('gauss', dict(d=d, kind=k)) for k in ('generation', 'transfer') for d in (2, 10, 20, 50)]
         + [('mix', dict(d=2, eps=0.1)), ('mix', dict(d=16, eps=1.))])
OT_METHODS = ('exact', 'sinkhorn')

def task_name(kind, spec):
    return (f"gauss_{spec['kind']}_d{spec['d']}_brownian" if kind == 'gauss' else f"mix_d{spec['d']}_eps{spec['eps']:g}")

def make_task(kind, spec, seed):
    "(task, data sampler, prior sampler, sigma^2): the same tasks as bench/accuracy.py"
    from dsb_nb.accuracy import random_gaussian_task, gaussian_samplers, MixtureBridge
    if kind == 'gauss':
        t = random_gaussian_task(spec['d'], spec['kind'], 'brownian', seed=seed)
        data, prior = gaussian_samplers(t)
        return t, data, prior, 2*float(t['gammas'].sum())
    mb = MixtureBridge(spec['d'], spec['eps'], seed=seed)
    data, prior = mb.samplers()
    return mb, data, prior, mb.eps

def euler_maruyama(v, s, x, sigma, forward:bool, n_steps:int=100, gen=None, traj=False):
    "Integrate torchcfm's SB SDE from t = 0 (forward: drift v + s) or from t = 1 back to 0 (reverse time: drift v - s)"
    dt, xs = 1/n_steps, [x]
    for i in range(n_steps):
        t = (i if forward else n_steps - i)*dt
        tt = torch.full((len(x), 1), t)
        inp = torch.cat([x, tt], 1)
        drift = v(inp) + s(inp) if forward else -(v(inp) - s(inp))
        x = x + drift*dt + sigma*math.sqrt(dt)*torch.randn(x.shape, generator=gen)
        xs.append(x)
    return (xs if forward else xs[::-1]) if traj else x

class TorchcfmSB:
    """torchcfm's SB-CFM behind the interface bench/regimes.py scores (`fit(it)`, `sample(n, direction, x, return_traj)`):
    each `fit` call is `n_steps` updates of both networks, so 5 calls are the budget of 5 IPF iterations of 2 x n_steps"""
    def __init__(self, data, prior, gammas=None, f=None, seed=0, n_steps=2000, ot_method='exact', bs=128, lr=1e-3, sde_steps=100,
                 progress=False, sigma2=None):    # sigma2: the bridge's variance, default 2 sum(gammas) (dsb_nb's Brownian reference)
        from torchcfm.conditional_flow_matching import SchrodingerBridgeConditionalFlowMatcher
        from torchcfm.models.models import MLP
        from dsb_nb.sources import as_sampler
        if f is not None: raise ValueError("torchcfm's SB-CFM has only the Brownian reference: `f` must be None")
        torch.manual_seed(seed); np.random.seed(seed)   # torchcfm draws from its plans with NumPy
        self.data, self.prior = as_sampler(data, 'data'), as_sampler(prior, 'prior')
        self.sigma = math.sqrt(2*float(gammas.sum()) if sigma2 is None else sigma2)
        self.d = self.data(1, torch.Generator().manual_seed(0)).shape[1]
        self.width = w = max(128, 4*self.d)                      # the hidden width of dsb_nb's default network (TimeMLP 'auto')
        self.fm = SchrodingerBridgeConditionalFlowMatcher(sigma=self.sigma, ot_method=ot_method)
        self.v, self.s = MLP(self.d, w=w, time_varying=True), MLP(self.d, w=w, time_varying=True)
        self.opt = torch.optim.Adam(list(self.v.parameters()) + list(self.s.parameters()), lr=lr)
        self.g, self.gs = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(10_000 + seed)
        self.n_steps, self.bs, self.sde_steps, self.fallbacks = n_steps, bs, sde_steps, 0

    def fit(self, it=None):
        for _ in range(self.n_steps):
            loss, fell_back = train_step(self.fm, self.v, self.s, self.data(self.bs, self.g), self.prior(self.bs, self.g))
            self.fallbacks += fell_back
            self.opt.zero_grad(set_to_none=True); loss.backward(); self.opt.step()
        return self

    @torch.no_grad()
    def sample(self, n=None, direction='forward', x=None, return_traj=False):
        if x is None: x = (self.data if direction == 'forward' else self.prior)(n, self.gs)
        tr = euler_maruyama(self.v, self.s, x.float(), self.sigma, forward=direction == 'forward', n_steps=self.sde_steps,
                            gen=self.gs, traj=return_traj)
        return torch.stack(tr) if return_traj else tr

def train_step(fm, v, s, x0, x1):
    "torchcfm's SB-CFM loss on one minibatch (its README's recipe) and whether the OT plan fell back to independent pairs"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        t, xt, ut, eps = fm.sample_location_and_conditional_flow(x0, x1, return_noise=True)
    fell_back = any('uniform' in str(x.message).lower() or 'numerical' in str(x.message).lower() for x in w)
    lam = fm.compute_lambda(t)[:, None]
    inp = torch.cat([xt, t[:, None]], 1)
    loss = (v(inp) - ut).pow(2).mean() + (lam*s(inp) + eps).pow(2).mean()
    if not torch.isfinite(loss): raise FloatingPointError('non-finite SB-CFM loss')
    return loss, int(fell_back)

def run_one(kind, spec, ot_method, steps, seed, bs=128, lr=1e-3, n_eval=10_000):
    from dsb_nb.gaussian import gaussian_coupling_errors
    from dsb_nb.accuracy import cbw2_uvp
    task, data, prior, sig2 = make_task(kind, spec, seed)
    t0 = time.time()
    m = TorchcfmSB(data, prior, sigma2=sig2, seed=seed, n_steps=steps, ot_method=ot_method, bs=bs, lr=lr).fit()
    train_s = time.time() - t0
    if kind == 'gauss':
        x1 = m.prior(n_eval, m.gs)
        e = gaussian_coupling_errors(m.sample(direction='backward', x=x1).double(), x1.double(), task['bridge'])
        score = dict(kl=e['kl'], kl_corrected=e['kl_corrected'], kl_floor=e['kl_floor'])
    else:
        u, floor = cbw2_uvp(lambda x: m.sample(direction='forward', x=x), task, seed=seed)
        score = dict(cbw2_uvp=u, floor=floor)
    return dict(task=task_name(kind, spec), kind=kind, d=spec['d'], ot_method=ot_method, steps=steps, sigma2=sig2, width=m.width,
                ot_fallback_steps=m.fallbacks, train_s=train_s, wall_s=time.time() - t0, **score)

def dsb_nb_rows(name, kind):
    "dsb_nb on the same task from bench/results/accuracy/: bridge()'s default (5 its) and DSBM at 5 and 20 its"
    def last(job, ipf=None):
        f = ACC/f'{name}_{job}.json'
        if not f.exists(): return None
        rows = json.loads(f.read_text())['rows']
        if kind == 'gauss': rows = [r for r in rows if r['chain'] == 'backward']
        r = next((r for r in rows if r['ipf'] == ipf), None) if ipf else rows[-1]
        return None if r is None else (r['kl'] if kind == 'gauss' else r['cbw2_uvp'])
    return {'default_it5': last('auto'), 'dsbm_it5': last('dsbm', 5), 'dsbm_last': last('dsbm')}

def plot(res, path):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    names = list(dict.fromkeys(r['task'] for r in res['rows']))
    fig, axs = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw=dict(width_ratios=[4, 1]))
    for ax, kind in zip(axs, ('gauss', 'mix')):
        ns = [n for n in names if n.startswith(kind)]
        if not ns: ax.axis('off'); continue
        key, flo = ('kl', 'kl_floor') if kind == 'gauss' else ('cbw2_uvp', 'floor')
        x = range(len(ns)); w = 0.17
        for j, m in enumerate(OT_METHODS):
            ys = [next((r[key] for r in res['rows'] if r['task'] == n and r['ot_method'] == m), float('nan')) for n in ns]
            ax.bar([i + (j - 1.5)*w for i in x], ys, w, label=f"torchcfm SB-CFM, ot_method='{m}'")
        ref = res['references']['dsb_nb']
        for j, (k, lab) in enumerate((('default_it5', "dsb_nb bridge() default, it. 5"), ('dsbm_it5', 'dsb_nb DSBM-IPF, it. 5'))):
            ys = [ref.get(n, {}).get(k) for n in ns]
            ax.bar([i + (j + 0.5)*w for i in x], [y if y is not None else float('nan') for y in ys], w, label=lab)
        fl = [next(r[flo] for r in res['rows'] if r['task'] == n) for n in ns]
        ax.scatter(list(x), fl, marker='_', s=300, c='k', zorder=3, label='floor (exact samples)')
        ax.set_xticks(list(x)); ax.set_xticklabels([n.replace('gauss_', '').replace('_brownian', '') for n in ns],
                                                   rotation=30, ha='right', fontsize=7)
        ax.set_yscale('log'); ax.set_ylabel('raw KL of the generative coupling' if kind == 'gauss' else 'cBW2-UVP (%)')
    axs[0].legend(fontsize=7)
    fig.suptitle('torchcfm SB-CFM and dsb_nb at the same budget (10,000 updates of each network; CPU, 1 thread)', fontsize=9)
    fig.tight_layout(); fig.savefig(path, dpi=80); plt.close(fig)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=10_000, help='gradient steps (each updates both networks)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--jobs', type=int, default=1, help='processes, one torch thread each')
    p.add_argument('--tasks', nargs='*', default=None, help='task names (default: all ten)')
    p.add_argument('--out', default=str(root/'bench'/'results'/'vs_torchcfm'), help='output path without extension')
    p.add_argument('--refresh-refs', action='store_true',
                   help="only re-read the dsb_nb columns from bench/results/accuracy/ "
                        "(after a default changed) and re-plot")
    a = p.parse_args()
    torch.set_num_threads(1)
    todo = [(k, s, m) for k, s in TASKS for m in OT_METHODS if a.tasks is None or task_name(k, s) in a.tasks]
    path = Path(a.out + '.json')
    res = read_results(path) if path.exists() else results(
        'vs_torchcfm', dict(steps=a.steps, seed=a.seed, bs=128, lr=1e-3, net="torchcfm MLP(d, w=max(128, 4d), time_varying=True)",
                            sde_steps=100, n_eval=10_000, ot_methods=list(OT_METHODS)),
        [], machine('cpu', 1), cpu_reduced=True,
        references={'dsb_nb': {task_name(k, s): dsb_nb_rows(task_name(k, s), k) for k, s in TASKS}})
    if a.refresh_refs:                            # no training: torchcfm's rows stay, dsb_nb's columns are re-read
        res['references']['dsb_nb'] = {task_name(k, s): dsb_nb_rows(task_name(k, s), k) for k, s in TASKS}
        write_results(path, res, publish=path.parent == root/'bench'/'results')
        plot(res, Path(a.out + '.png')); publish_fig(Path(a.out + '.png')); return
    import torchcfm
    res['settings']['torchcfm'] = torchcfm.__version__
    done = {(r['task'], r['ot_method']) for r in res['rows'] if r['steps'] == a.steps}
    todo = [j for j in todo if (task_name(j[0], j[1]), j[2]) not in done]
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing as mp
    with ProcessPoolExecutor(a.jobs, mp_context=mp.get_context('spawn')) as ex:
        futs = {ex.submit(run_one, k, s, m, a.steps, a.seed): (k, s, m) for k, s, m in todo}
        for f in as_completed(futs):
            r = f.result()
            res['rows'] = [x for x in res['rows'] if (x['task'], x['ot_method']) != (r['task'], r['ot_method'])] + [r]
            write_results(path, res, publish=path.parent == root/'bench'/'results')
            sc = f"KL {r['kl']:.4f} (floor {r['kl_floor']:.4f})" if 'kl' in r else f"cBW2-UVP {r['cbw2_uvp']:.3g} (floor {r['floor']:.3g})"
            print(f"{r['task']:32s} {r['ot_method']:8s} {sc}  fallbacks {r['ot_fallback_steps']}  {r['wall_s']:.0f}s", flush=True)
    plot(res, Path(a.out + '.png')); publish_fig(Path(a.out + '.png'))

if __name__ == '__main__': main()
