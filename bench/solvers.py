#!/usr/bin/env python
"""Benchmark for nbs/18_solvers: DSB vs DSBM vs SB-CFM with the same network and the same gradient-step budget.

Every solver gets the same tasks, the same TimeMLP ('small' preset, linear skip path on: the package default), the same
optimiser/EMA/batch settings per task, the same seed for the initial weights and n_ipf x 2 x n_steps gradient steps.
After every iteration both chains are sampled and scored:

* Gaussian d = 5, 20, 50 (notebook 07's task: N(0.1*1, I) <-> N(-0.1*1, I), Brownian reference, N = 20, T = 0.5):
  max |mean error|, max |var - 1|, max |cross-cov - c| and the plug-in Gaussian KL of (X_0, X_N) against the
  closed form (`dsb_nb.gaussian.coupling_stats`), for the backward chain (and the KL of the forward chain).
  Floor: the same statistics of exact samples of the closed form at the same sample size.
* 2-D generation (notebook 08's standardised toys -> N(0, I), Brownian reference, N = 20, T = 0.5) and the 2-D
  transfer Swiss roll -> S-curve (N = 20, T = 1): exact W2 (POT emd2) of the generated end against held-out samples
  at both ends; floor: W2 between two independent samples of the target law.

Wall time `train_s` is the time inside the training halves (caches, OT plans and gradient steps; not evaluation).
Writes --out .json and .png (default bench/results/solvers) and copies the PNG to nbs/figs/bench_solvers.png.

    python bench/solvers.py --cpu-reduced                      # the CPU run committed in bench/results (about 25 min, 1 core)
    python bench/solvers.py --iters 10 --steps 5000 --device cuda --n-eval 20000   # larger, on a GPU
    python bench/solvers.py --plot-only                        # redraw the PNG from the JSON
"""
import argparse, os, time
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent

from _common import publish_fig, machine, results, read_results, write_results

TASKS = ['gauss5', 'gauss20', 'gauss50', 'gen_eight_gaussians', 'gen_moons', 'transfer']

def task_spec(name):
    "Samplers, schedule, trainer settings and labels of a task"
    from dsb_nb.reference import make_gammas
    from dsb_nb.dsb import gaussian_sampler
    from dsb_nb.gaussian import gaussian_task
    from dsb_nb.toys2d import make_toy, TOY_DSB_KW
    gkw = dict(bs=128, lr=3e-4, ema_decay=0.998, n_cache=1000, cache_every=250, n_eval=500)
    tkw = {k: v for k, v in TOY_DSB_KW.items() if k not in ('n_steps', 'progress')}
    if name.startswith('gauss'):
        d = int(name[5:]); data, prior = gaussian_task(d, 0.1)
        return dict(label=f'gaussian d={d}', kind='gaussian', d=d, data=data, prior=prior, T=0.5, gammas=make_gammas(20, T=0.5), kw=gkw)
    if name.startswith('gen_'):
        toy = name[4:]
        return dict(label=f'{toy} (generation)', kind='toy2d', d=2, data=make_toy(toy), prior=gaussian_sampler(2), T=0.5,
                    gammas=make_gammas(20, T=0.5), kw=tkw)
    if name == 'transfer':
        return dict(label='swiss roll -> S-curve', kind='toy2d', d=2, data=make_toy('swiss_roll'), prior=make_toy('s_curve'), T=1.,
                    gammas=make_gammas(20, T=1.), kw=tkw)
    raise ValueError(f"Unknown task '{name}': expected one of {TASKS}")

def evaluate(model, spec, a, cache):
    "Errors of both chains of a trained solver; `cache` keeps the held-out reference sets and floors of the task"
    from dsb_nb.gaussian import coupling_stats, sample_sb_joint
    from dsb_nb.score_matching import w2
    if spec['kind'] == 'gaussian':
        if 'floors' not in cache:
            x0, x1 = sample_sb_joint(a.n_eval, spec['d'], spec['T'], 0.1, torch.Generator().manual_seed(50_000 + a.seed))
            cache['floors'] = coupling_stats(x0, x1, spec['T'], 0.1)
        tb = model.sample(a.n_eval, 'backward', return_traj=True).cpu(); sb = coupling_stats(tb[0], tb[-1], spec['T'], 0.1); del tb
        tf = model.sample(a.n_eval, 'forward', return_traj=True).cpu(); sf = coupling_stats(tf[0], tf[-1], spec['T'], 0.1); del tf
        return {**sb, 'kl_fwd': sf['kl'], 'cov_err_fwd': sf['cov_err']}
    if 'refs' not in cache:
        ge = torch.Generator().manual_seed(10_000 + a.seed)
        d0, d0b, p0, p0b = (spec['data'](a.n_eval_2d, ge), spec['data'](a.n_eval_2d, ge), spec['prior'](a.n_eval_2d, ge), spec['prior'](a.n_eval_2d, ge))
        cache['refs'] = (d0, p0); cache['floors'] = {'w2_data': w2(d0, d0b), 'w2_prior': w2(p0, p0b)}
    d0, p0 = cache['refs']
    return {'w2_data': w2(model.sample(a.n_eval_2d, 'backward').cpu(), d0), 'w2_prior': w2(model.sample(a.n_eval_2d, 'forward').cpu(), p0)}

def run_one(task, method, a):
    from dsb_nb.solvers import SOLVERS
    from dsb_nb.score_matching import TimeMLP
    spec, cache = task_spec(task), {}
    cls, extra = {'dsbm-imf': (SOLVERS['dsbm'], dict(coupling='independent')),
                  'dsbm': (SOLVERS['dsbm'], dict(coupling='reference')),
                  'auto': (None, {})}.get(method, (SOLVERS.get(method), {}))   # DSBM-IPF as recorded
    if a.defaults:      # the library's defaults: default nets (initialised from `seed`, so identical across methods) and settings
        kw = dict(n_eval=spec['kw']['n_eval'])
    else:
        torch.manual_seed(a.seed)                               # identical initial weights for every method
        kw = {**{k: TimeMLP.preset(spec['d'], 'small') for k in ('net_f', 'net_b')}, **spec['kw']}
    if method == 'auto':        # what bridge(data, prior, gammas) builds by default (its choice is recorded in the row)
        from dsb_nb.solvers import bridge
        model = bridge(spec['data'], spec['prior'], spec['gammas'], n_ipf=0, n_steps=a.steps, seed=a.seed, device=a.device,
                       progress=False, **kw)
    else:
        model = cls(spec['data'], spec['prior'], spec['gammas'], n_steps=a.steps, seed=a.seed, device=a.device, progress=False, **kw, **extra)
    curve, t0 = [], time.time()
    for it in range(1, a.iters + 1):
        model.fit(it)
        curve.append({'ipf': it, 'grad_steps': 2*it*a.steps, 'train_s': sum(h['train_s'] for h in model.history),
                      'errors': evaluate(model, spec, a, cache)})
    choice = getattr(model, 'choice', None)
    return {'task': spec['label'], 'kind': spec['kind'], 'method': method, 'd': spec['d'], 'T': spec['T'],
            **({'choice': {k: choice[k] for k in ('method', 'why', 'rho')}} if method == 'auto' and choice else {}),
            'errors': curve[-1]['errors'], 'floors': cache['floors'], 'train_s': curve[-1]['train_s'], 'wall_s': time.time() - t0,
            'grad_steps': 2*a.iters*a.steps, 'curve': curve}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, default=5, help='iterations per solver (each = backward + forward block)')
    p.add_argument('--steps', type=int, default=1000, help='gradient steps per half-iteration')
    p.add_argument('--tasks', default=','.join(TASKS), help=f'comma-separated subset of {TASKS}')
    p.add_argument('--methods', default='dsb,dsbm,sbcfm', help="comma-separated: dsb, dsbm, dsbm-imf (DSBM from the independent coupling), sbcfm, auto (what bridge() picks)")
    p.add_argument('--defaults', action='store_true', help="every solver with the library's defaults (default nets, lr, cache...) instead of the fixed 'small' net and settings")
    p.add_argument('--n-eval', type=int, default=10_000, help='pairs per chain for the Gaussian statistics')
    p.add_argument('--n-eval-2d', type=int, default=2000, help='samples per exact W2 on the 2-D tasks')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cpu-reduced', action='store_true', help='label the run as reduced (CPU-sized) in the JSON')
    p.add_argument('--plot-only', action='store_true', help='redraw the PNG from the JSON at --out and exit')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'solvers'), help='output path without extension')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from dsb_nb.solvers import plot_solvers, solvers_table
    from dsb_nb.score_matching import TimeMLP, n_params
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    def plot(res):
        import matplotlib.pyplot as plt
        fig = plot_solvers(res)
        fig.suptitle(f"SB solvers, same net and budget ({res['settings']['iters']} its x 2 x {res['settings']['steps']} steps)"
                     f"{' - CPU-reduced run' if res['cpu_reduced'] else ''}", fontsize=9)
        fig.tight_layout(); fig.savefig(out.with_suffix('.png'), dpi=80); plt.close(fig)
        publish_fig(out.with_suffix('.png'))
    if a.plot_only: return plot(read_results(out.with_suffix('.json')))
    tasks, methods = a.tasks.split(','), a.methods.split(',')
    dev = torch.device(a.device)
    res = results('solvers', cpu_reduced=a.cpu_reduced, machine=machine(str(dev), a.threads),
               experiment=f"{' vs '.join(methods)}, same network ({'the defaults' if a.defaults else 'TimeMLP small, skip'}) "
                          "and gradient-step budget",
               settings=dict(iters=a.iters, steps=a.steps, grad_steps=2*a.iters*a.steps, N=20, seed=a.seed, n_eval=a.n_eval, n_eval_2d=a.n_eval_2d,
                             defaults=a.defaults, net=("TimeMLP.preset(d, 'auto') (the default)" if a.defaults else "TimeMLP.preset(d, 'small') (skip=True)"),
                             n_params={d: n_params(TimeMLP.preset(d, 'auto' if a.defaults else 'small')) for d in (2, 5, 20, 50)},
                             gaussian=dict(T=0.5, a=0.1, reference='brownian', trainer='library defaults' if a.defaults else task_spec('gauss5')['kw']),
                             toy2d=dict(generation='toy -> N(0, I), T=0.5', transfer='swiss_roll -> s_curve, T=1', reference='brownian',
                                        trainer='library defaults' if a.defaults else task_spec('transfer')['kw']),
                             sbcfm=dict(reg='4T', ot_bs='= bs', ot_method='sinkhorn_log', ot_iter=100, ot_tol=1e-4)),
               rows=[])
    t_all = time.time()
    for task in tasks:
        for method in methods:
            row = run_one(task, method, a); res['rows'].append(row)
            res['total_wall_s'] = time.time() - t_all
            write_results(out.with_suffix('.json'), res, publish=True)
            e, f = row['errors'], row['floors']
            msg = (f"kl {e['kl']:.4f} (floor {f['kl']:.4f}) cov {e['cov_err']:.3f} var {e['var_err']:.3f} mean {e['mean_err']:.3f}"
                   if row['kind'] == 'gaussian' else f"w2 data {e['w2_data']:.3f} (floor {f['w2_data']:.3f}) prior {e['w2_prior']:.3f} (floor {f['w2_prior']:.3f})")
            print(f"{row['task']:28s} {method:6s} {msg}  train {row['train_s']:.0f}s wall {row['wall_s']:.0f}s", flush=True)
        plot(res)
    print(solvers_table(res))

if __name__ == '__main__': main()
