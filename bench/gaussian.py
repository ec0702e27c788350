#!/usr/bin/env python
"""Paper Figure 2: DSB on N(a, I) <-> N(-a, I), a = 0.1*1, Brownian reference, N = 20, gamma = 1/40, batch 128.

For each (d, network size) records per IPF iteration the max |mean error|, max |var - 1|, max |cross-cov - c|,
the max off-diagonal cross-covariance and the plug-in Gaussian KL of the (X_0, X_N) coupling against the closed form,
and cumulative wall time. Writes results JSON (rewritten after every configuration) and a PNG.

    python bench/gaussian.py                                   # paper-sized: 20 IPF iterations
    python bench/gaussian.py --iters 6 --steps 2500 --cpu-reduced   # what fits the 2-core CI machine
    python bench/gaussian.py --defaults                        # the library's defaults, DSB and DSBM, with references

`--defaults` sets nothing but the task, N = 20, T = 0.5, the batch (128, also the default) and the steps per half (default: the
library's 2000): DSB's own network ('auto'), learning rate, schedule, EMA and cache. It trains `DSB` and `DSBM` (`--methods`) and adds
the three references per d: the closed form (every error is measured against it), DSB's own limit (`ideal_dsb_gaussian`: perfect
function class, infinite samples) and the sampling floor (the same statistics on n_eval exact pairs, mean of 5 draws).
Its output is results/gaussian_defaults.json/.png unless --out is given.
"""
import argparse, os, time
from pathlib import Path
import torch
from _common import machine, results, read_results, write_results

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, default=20, help='IPF iterations per configuration')
    p.add_argument('--steps', type=int, default=None, help='gradient steps per half-iteration (default 5000; 2000 with --defaults)')
    p.add_argument('--dims', type=int, nargs='+', default=[5, 50])
    p.add_argument('--sizes', nargs='+', default=['small', 'large'], help="TimeMLP presets ('small', 'large', 'xl')")
    p.add_argument('--lr', type=float, default=3e-4)
    p.add_argument('--ema', type=float, default=0.998)
    p.add_argument('--cache-every', type=int, default=250)
    p.add_argument('--n-cache', type=int, default=1000)
    p.add_argument('--n-eval', type=int, default=10_000, help='pairs sampled per chain per IPF iteration for the statistics')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--no-skip', action='store_true', help="TimeMLP without its linear skip path (the paper's architecture)")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cpu-reduced', action='store_true', help='label the run as reduced relative to the paper in the JSON')
    p.add_argument('--defaults', action='store_true', help="the library's defaults for everything but the task and the steps (see above)")
    p.add_argument('--methods', nargs='+', default=None, choices=['dsb', 'dsbm'], help="trainers (default: dsb; with --defaults: dsb dsbm)")
    p.add_argument('--plot-only', action='store_true', help='redraw the PNG from an existing JSON at --out and exit')
    p.add_argument('--out', default=None, help='output path without extension (default results/gaussian, or results/gaussian_defaults)')
    args = p.parse_args()
    args.out = args.out or str(Path(__file__).parent/'results'/('gaussian_defaults' if args.defaults else 'gaussian'))
    args.methods = args.methods or (['dsb', 'dsbm'] if args.defaults else ['dsb'])
    args.steps = args.steps or (2000 if args.defaults else 5000)
    if args.defaults: args.sizes = ['auto']
    torch.set_num_threads(args.threads)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from dsb_nb.gaussian import run_gaussian, plot_convergence, gaussian_sb_cross_cov
    from dsb_nb.score_matching import TimeMLP, n_params
    out = Path(args.out); out.parent.mkdir(parents=True, exist_ok=True)
    if args.plot_only:
        res = read_results(out.with_suffix('.json')); s = res['settings']
        args.iters, args.steps, args.cpu_reduced, args.defaults = s['iters'], s['steps_per_half'], res['cpu_reduced'], s.get('defaults', False)
        return plot(res, out, args, plot_convergence)
    settings = dict(N=20, gamma=1/40, T=0.5, eps=1.0, a=0.1, bs=128, reference='brownian', iters=args.iters, steps_per_half=args.steps,
                    lr=args.lr, ema_decay=args.ema, cache_every=args.cache_every, n_cache=args.n_cache, n_eval=args.n_eval,
                    seed=args.seed, warm_start=True, c_closed_form=gaussian_sb_cross_cov(0.5), skip=not args.no_skip)
    if args.defaults:    # nothing but the task and the steps: the rest is whatever DSB's signature says
        from _common import dsb_defaults
        settings.update(defaults=True, net="TimeMLP 'auto'", **dsb_defaults(('lr', 'lr_schedule', 'ema_decay', 'cache_every', 'n_cache', 'grad_clip')))
    res = results('gaussian', settings, [], machine(args.device, args.threads), cpu_reduced=args.cpu_reduced,
                  experiment='DSB paper Figure 2 (Gaussian example)',
                  targets='paper: d=5 small and d=50 large reach errors <= 0.05 by iteration 20; d=50 small fails on var/cov')
    from dsb_nb.solvers import SOLVERS
    for d in args.dims:
        if args.defaults: res['references'][f'd={d}'] = references(d, args)
        for size in args.sizes:
          for method in args.methods:
            label = f'd={d} {method.upper()}' if args.defaults else f'd={d} {size}' + (f' {method.upper()}' if method != 'dsb' else '')
            t0 = time.time()
            kw = {} if args.defaults else dict(lr=args.lr, ema_decay=args.ema, cache_every=args.cache_every, n_cache=args.n_cache)
            if method == 'dsbm': kw['coupling'] = 'reference'     # DSBM-IPF, as recorded (the library's default is now 'auto')
            rows, _ = run_gaussian(d, size, n_ipf=args.iters, n_steps=args.steps, n_eval=args.n_eval, seed=args.seed, bs=128,
                                   skip=not args.no_skip, device=args.device, cls=SOLVERS[method], **kw)
            res['rows'].append(dict(config=label, d=d, size=size, method=method, wall_s=time.time() - t0, rows=rows,
                                    n_params=n_params(TimeMLP.preset(d, size, skip=not args.no_skip))))
            write_results(out.with_suffix('.json'), res)
            last = [r for r in rows if r['chain'] == 'backward'][-1]
            print(f"{label}: {time.time() - t0:.0f}s  mean {last['mean_err']:.3f} var {last['var_err']:.3f} "
                  f"cov {last['cov_err']:.3f} kl {last['kl']:.3f}", flush=True)
            plot(res, out, args, plot_convergence)   # redrawn after each configuration so a partial run leaves a figure

def references(d, args, draws=5):
    "DSB's limit (perfect maps, infinite samples) per IPF iteration, and the sampling floor of exact pairs, on the task of dimension d"
    from dsb_nb.continuous import ideal_dsb_gaussian
    from dsb_nb.gaussian import coupling_stats, sample_sb_joint
    from dsb_nb.reference import make_gammas
    a, I = 0.1*torch.ones(d, dtype=torch.float64), torch.eye(d, dtype=torch.float64)
    lim = [r for r in ideal_dsb_gaussian(a, I, -a, I, make_gammas(20, T=0.5), n_ipf=args.iters) if r['chain'] == 'backward']
    g = torch.Generator().manual_seed(1000 + args.seed)
    fl = [coupling_stats(*sample_sb_joint(args.n_eval, d, gen=g)) for _ in range(draws)]
    return dict(limit=[dict(ipf=r['ipf'], kl=r['kl'], mean_err=r['mean_err'], marg_cov_err=r['cov_err'], cross_err=r['cross_err']) for r in lim],
                floor={k: sum(f[k] for f in fl)/draws for k in fl[0]}, floor_draws=draws)

def plot(res, out, args, plot_convergence):
    import matplotlib.pyplot as plt
    fig = plot_convergence({r['config']: r['rows'] for r in res['rows']}, keys=('mean_err', 'var_err', 'cov_err', 'kl'), figsize=(7, 8))
    for i, (lab, ref) in enumerate(res.get('references', {}).items()):   # KL a perfect model scores: DSB's limit + the sampling floor
        ax = fig.axes[-1]; its = [r['ipf'] for r in ref['limit']]
        ax.plot(its, [r['kl'] + ref['floor']['kl'] for r in ref['limit']], ls=':', c='k', lw=1.2 - 0.5*i,
                label=f"{lab}: DSB limit + floor")
        ax.axhline(ref['floor']['kl'], c='gray', ls='--', lw=0.8); ax.legend(fontsize=6)
    fig.suptitle(f"Gaussian SB, backward chain{' (CPU-reduced run)' if args.cpu_reduced else ''}{', paper net (no skip)' if args.no_skip else ''}"
                 f"{', library defaults' if getattr(args, 'defaults', False) else ''}: "
                 f"{args.iters} IPF its x {args.steps} steps/half (grey dashed: exact samples' KL)", fontsize=9)
    fig.tight_layout(); fig.savefig(out.with_suffix('.png'), dpi=80); plt.close(fig)
    from _common import publish_fig; publish_fig(out.with_suffix('.png'))     # the book shows figs/bench_NAME.png

if __name__ == '__main__': main()
