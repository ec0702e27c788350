#!/usr/bin/env python
"""Are `DSB`'s default training settings sensible? Runs `DSB(data, prior, gammas)` with every trainer argument at its
default except the learning rate, which is swept, on four small tasks a user might try first:

* shift:     N((1, -1), 0.5^2 I) -> N(0, I), T = 1 (the README's first example): W2 of generated vs held-out data
* data2data: N((1, -1), 0.5^2 I) -> N((-1, 1), 0.3^2 I), T = 1 (the README's second example): W2 at the prior end of
             the forward chain (data moved to the second set)
* moons:     two moons -> N(0, I), T = 0.5: W2 of generated vs held-out data
* gauss5:    N(0.1, I) <-> N(-0.1, I) in d = 5, T = 0.5 (notebook 07): Gaussian KL of the coupling (X_0, X_N) of the
             backward chain against the closed-form bridge

Floors: the same statistic between two independent samples of the target law (or of the exact bridge) at the same size.
Each configuration trains `--iters` IPF iterations of the default 2000 steps per half, once per seed (the seed sets
the task's samples, the initial weights and the trainer's random stream); the plot shows the mean over seeds.

    python bench/defaults.py                      # CPU, about 12 minutes on one core (4 tasks x 3 lrs x 2 seeds)
    python bench/defaults.py --lrs 2e-4 1e-3 3e-3 --iters 3

Writes bench/results/defaults.json and .png, and copies the PNG to nbs/figs/bench_defaults.png for the book.
"""
import argparse, time
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent

from _common import publish_fig, machine, results, write_results

def task(name, n_eval, gen):
    "data, prior, gammas, direction scored, error function(sample_or_traj) and its floor"
    from dsb_nb.reference import make_gammas
    from dsb_nb.dsb import gaussian_sampler
    from dsb_nb.score_matching import w2
    from dsb_nb.toys2d import moons
    from dsb_nb.gaussian import gaussian_task, coupling_stats, sample_sb_joint
    if name in ('shift', 'data2data'):
        x = torch.tensor([1., -1.]) + 0.5*torch.randn(2000, 2, generator=gen)
        held = torch.tensor([1., -1.]) + 0.5*torch.randn(n_eval, 2, generator=gen)
        if name == 'shift':
            return (x, gaussian_sampler(2), make_gammas(20, T=1.), 'backward', lambda s: w2(s, held),
                    w2(torch.tensor([1., -1.]) + 0.5*torch.randn(n_eval, 2, generator=gen), held))
        y = torch.tensor([-1., 1.]) + 0.3*torch.randn(2000, 2, generator=gen)
        ty = lambda n: torch.tensor([-1., 1.]) + 0.3*torch.randn(n, 2, generator=gen)
        held_y = ty(n_eval)
        return x, y, make_gammas(20, T=1.), 'forward', lambda s: w2(s, held_y), w2(ty(n_eval), held_y)
    if name == 'moons':
        held = moons(n_eval, gen)
        return moons, gaussian_sampler(2), make_gammas(20, T=0.5), 'backward', lambda s: w2(s, held), w2(moons(n_eval, gen), held)
    if name == 'gauss5':
        data, prior = gaussian_task(5, 0.1)
        x0, xN = sample_sb_joint(n_eval, 5, 0.5, 0.1, gen)
        return (data, prior, make_gammas(20, T=0.5), 'coupling', lambda tr: coupling_stats(tr[0], tr[-1], 0.5, 0.1)['kl'],
                coupling_stats(x0, xN, 0.5, 0.1)['kl'])
    raise ValueError(name)

def run(name, lr, iters, n_eval, seed=0):
    from dsb_nb.dsb import DSB
    data, prior, gammas, kind, err, floor = task(name, n_eval, torch.Generator().manual_seed(1000 + 17*seed))
    torch.manual_seed(seed)
    dsb = DSB(data, prior, gammas, lr=lr, progress=False, seed=seed)
    curve, t0 = [], time.time()
    for it in range(1, iters + 1):
        dsb.fit(it)
        if kind == 'coupling': curve.append(err(dsb.sample(n_eval, 'backward', return_traj=True)))
        else: curve.append(err(dsb.sample(n_eval, kind)))
    return {'task': name, 'lr': lr, 'seed': seed, 'curve': curve, 'floor': floor, 'train_s': time.time() - t0}

def plot(res, path):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    tasks = list(dict.fromkeys(r['task'] for r in res['rows']))
    fig, axs = plt.subplots(1, len(tasks), figsize=(3.2*len(tasks), 3))
    for ax, t in zip(axs, tasks):
        rows = [r for r in res['rows'] if r['task'] == t]
        for lr in dict.fromkeys(r['lr'] for r in rows):
            mean = res['mean_over_seeds'][f'{t} lr={lr:g}']
            ax.plot(range(1, len(mean) + 1), mean, 'o-', ms=3, label=f"lr {lr:g}" + (' (default)' if lr == res['settings']['default_lr'] else ''))
        ax.axhline(sum(r['floor'] for r in rows)/len(rows), c='k', ls='--', lw=1, label='floor')
        ax.set_xticks(range(1, len(rows[0]['curve']) + 1)); ax.set_yscale('log'); ax.set_xlabel('IPF iteration'); ax.set_ylabel('KL of coupling' if t == 'gauss5' else 'W2')
        ax.set_title(t, fontsize=9); ax.legend(fontsize=6)
    s = res['settings']
    fig.suptitle(f"DSB with default settings except lr ({res['machine']['device']}, {s['n_steps']} steps/half, "
                 f"mean of {len(s['seeds'])} seeds)", fontsize=9)
    fig.tight_layout(); fig.savefig(path, dpi=100)
    publish_fig(Path(path))

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--lrs', type=float, nargs='+', default=[2e-4, 1e-3, 3e-3])
    p.add_argument('--tasks', nargs='+', default=['shift', 'data2data', 'moons', 'gauss5'])
    p.add_argument('--iters', type=int, default=3)
    p.add_argument('--n-eval', type=int, default=2000)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    import inspect, sys; sys.path.insert(0, str(root))
    from dsb_nb.dsb import DSB
    defaults = {k: v.default for k, v in inspect.signature(DSB.__init__).parameters.items() if v.default is not inspect._empty}
    res = results('defaults', dict(default_lr=defaults['lr'], n_steps=defaults['n_steps'], seeds=a.seeds, lrs=a.lrs,
                                   iters=a.iters, n_eval=a.n_eval, tasks=a.tasks,
                                   defaults={k: v for k, v in defaults.items() if isinstance(v, (int, float, bool)) or v is None}),
                  [], machine('cpu', a.threads), cpu_reduced=False)
    for t in a.tasks:
        for lr in a.lrs:
            for seed in a.seeds:
                r = run(t, lr, a.iters, a.n_eval, seed); res['rows'].append(r)
                print(t, lr, seed, [round(c, 4) for c in r['curve']], 'floor', round(r['floor'], 4), f"{r['train_s']:.0f}s", flush=True)
    out = root/'bench'/'results'; out.mkdir(parents=True, exist_ok=True)
    res['mean_over_seeds'] = {f'{t} lr={lr:g}': [sum(c)/len(c) for c in zip(*[r['curve'] for r in res['rows'] if r['task'] == t and r['lr'] == lr])]
                              for t in a.tasks for lr in a.lrs}
    write_results(out/'defaults.json', res); plot(res, out/'defaults.png')
    print('wrote', out/'defaults.json')

if __name__ == '__main__': main()
