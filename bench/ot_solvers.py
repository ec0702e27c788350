#!/usr/bin/env python
"""Which plan does a minibatch OT solver give? Each `ot_plan` method on one block of each task of notebook 18 (16, 18).

The pairs of SB-CFM (every half) and of DSBM's coupling='ot' (first half) are drawn from the entropic OT plan (S2) of
blocks of `ot_bs` = 1,024 samples of each end, with reg = 2 s_N. This script takes one such block per task (the
regimes benchmark's tasks, `bench/regimes.py`), solves it to convergence in the log domain (the reference plan,
3,000 iterations, tol 1e-7) and compares every method at the trainers' settings (200 iterations, tol 1e-4) with it:
  * L1: the L1 distance of its plan to the reference (0: the same plan; 2: disjoint supports);
  * seconds on one thread (as a ratio to the exact solver in the same run: the machine may be shared);
  * partners: the median over rows of 1 / sum_j P(j | i)^2, the effective number of partners a point gets under the
    reference plan (1: a permutation; hundreds: a diffuse plan);
  * 'auto': the method `ot_plan(method='auto')` picks; 'auto (0.2.0)': what it picked before 'emd_sinkhorn' existed.

`--pairs` asks what the pairs look like, on the tasks whose coupling is known exactly (Gaussian and mixture bridges):
the squared distance |y - x|^2 a pair travels, its mean and variance over 4,096 pairs (4 blocks of 1,024, or one of
4,096), averaged over 8 draws, for exact pairs of the bridge and for minibatch pairs (`ot_pairs`) with 'auto', 'emd'
and 'auto' on one block of 4,096. A minibatch's two halves hold different numbers of points in each region of the
space (sampling noise), and a balanced plan must send the surplus somewhere: across the space when the noise is small.
Writes bench/results/ot_pairs.json.

    python bench/ot_solvers.py                       # all tasks (CPU, one thread: about 10 minutes)
    python bench/ot_solvers.py --tasks mix2_eps0.1 gauss10_eps0.3
    python bench/ot_solvers.py --pairs               # the pair statistics (about 2 minutes)

`--blocks` asks whether a user's data could show the same without exact pairs: on every task, the mean and variance
of |y - a x|^2 over minibatch pairs from blocks of 1,024 against one block of 4,096 (4 draws of 4,096 samples of
each end). A minibatch plan's bias shrinks as its blocks grow, so a statistic that still moves between the two
block sizes flags pairs that the trainer's blocks distort. Writes bench/results/ot_blocks.json.

    python bench/ot_solvers.py --blocks --tasks ...  # (about 10 minutes for all tasks, one thread)
"""
import argparse, sys, time
import torch

from _common import root, machine, results, write_results, publish_fig

OUT = root/'bench'/'results'/'ot_solvers'
TASKS = ['gauss10_eps0.01', 'gauss10_eps0.3', 'gauss10_eps3', 'mix2shift_eps0.1', 'mix2_eps0.1', 'mix2_eps1',
         'mix16_eps1',
         'authors_scurve', 'moons_gen', 'checker_gen', 'digits64', 'digits64_T0.5', 'mnist50']
METHODS = ['emd', 'emd_sinkhorn', 'sinkhorn', 'auto']

def old_auto(M, reg)->str:
    "ot_plan(method='auto') of 0.2.0: exact OT once reg < 5% of the median cost, else plain or log-domain Sinkhorn"
    if reg < 0.05*M.median().item(): return 'emd'
    return 'sinkhorn' if (M - M.min(1, keepdim=True).values).max().item() < 500*reg else 'sinkhorn_log'

def block(name:str, n:int=1024):
    "One block of n samples of each end of a regimes task, the cost's shrink factor a_N and the plan's regulariser"
    from regimes import task_spec, _samplers, _draw
    s = task_spec(name)
    if s['kind'] == 'exact': x0, x1 = (f(n, torch.Generator().manual_seed(7)) for f in _samplers(s['task']))
    else: x0, x1 = _draw(s['data'], n, 7), _draw(s['prior'], n, 8)
    return (x0.flatten(1).double(), x1.flatten(1).double(), *plan_coeffs(s), s['label'])

def plan_coeffs(spec)->tuple[float, float]:
    "(a_N, reg = 2 s_N) of a regimes task's reference: the cost's shrink factor and the plan's regulariser"
    from dsb_nb.reference import marginal_coeffs
    a, sN = marginal_coeffs(spec['gammas'].double(), getattr(spec['f'], 'alpha', 0.))
    return a[-1].item(), 2*sN[-1].item()

def partners(P)->float:
    "Median over rows of the effective number of partners 1 / sum_j P(j | i)^2"
    rows = P/P.sum(1, keepdim=True)
    return (1/(rows**2).sum(1)).median().item()

def run_task(name:str)->dict:
    import warnings
    from dsb_nb.dsbm import ot_plan
    x0, x1, a, reg, label = block(name)
    M = torch.cdist(a*x0, x1)**2
    t = time.time(); ref = ot_plan(x0, x1, reg, 'sinkhorn_log', n_iter=3000, tol=1e-7, a=a); t_ref = time.time() - t
    row = dict(task=name, label=label, d=x0.shape[1], reg=reg, reg_over_median_cost=reg/M.median().item(),
               partners=partners(ref), ref_s=t_ref, old_auto=old_auto(M, reg))
    for m in METHODS + ['old_auto']:
        meth = row['old_auto'] if m == 'old_auto' else m
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')                       # plain Sinkhorn's underflow fallback is recorded
            t = time.time()
            P, lg = ot_plan(x0, x1, reg, meth, n_iter=200, tol=1e-4, a=a, log=True)
            dt = time.time() - t
        row[m] = dict(method=lg['method'], l1=(P - ref).abs().sum().item(), col_err=lg['err'], fallback=lg['fallback'],
                      seconds=dt, partners=partners(P))
    for m in METHODS + ['old_auto']: row[m]['time_vs_emd'] = row[m]['seconds']/row['emd']['seconds']
    return row

PAIR_TASKS = ['mix2_eps0.1', 'mix2_eps1', 'mix16_eps1', 'gauss10_eps0.3', 'gauss10_eps3']

def pair_stats(name:str, draws:int=8, n:int=4096)->dict:
    "Mean and variance of |y - x|^2 over n pairs, averaged over `draws`: exact pairs and three minibatch pairings"
    from regimes import task_spec
    from dsb_nb.dsbm import ot_pairs
    s = task_spec(name); t, g = s['task'], torch.Generator().manual_seed(0)
    reg = 2*s['gammas'].double().sum().item()*2          # Brownian reference: 2 s_N = 4T
    ways = {'exact': None, 'auto, blocks of 1024': dict(block=1024),
            'emd, blocks of 1024': dict(block=1024, method='emd'), 'auto, one block of 4096': dict(block=4096)}
    out = {k: [] for k in ways}
    for _ in range(draws):
        x0 = t.sample_p0(n, g)
        x1 = t.sample_cond(x0, g)                          # exact pairs; their second column is a sample of p1
        for k, kw in ways.items():
            if kw is None: a, b = x0, x1
            else: a, b = ot_pairs(x0, t.sample_p1(n, g), reg, gen=g, **kw)
            c = ((b - a)**2).sum(1)
            out[k].append((c.mean().item(), c.var().item(), (c > 10*s['d']*reg/2).float().mean().item()))
    row = dict(task=name, d=s['d'], reg=reg, n=n, draws=draws)
    for k, v in out.items():
        v = torch.tensor(v)
        row[k] = dict(mean=v[:, 0].mean().item(), mean_se=(v[:, 0].std()/draws**0.5).item(),
                      var=v[:, 1].mean().item(), far=v[:, 2].mean().item())
    return row

def block_stats(name:str, draws:int=4, n:int=4096)->dict:
    "Mean and variance of the cost |y - a x|^2 of minibatch pairs from blocks of 1,024 and from one block of 4,096"
    from regimes import task_spec, _samplers, _draw
    from dsb_nb.dsbm import ot_pairs
    s = task_spec(name)
    a, reg = plan_coeffs(s)
    f0, f1 = _samplers(s['task']) if s['kind'] == 'exact' else (s['data'], s['prior'])
    out = {1024: [], 4096: []}
    for k in range(draws):
        y0, y1 = (_draw(f, n, 100*k + j).flatten(1).double() for j, f in enumerate((f0, f1)))
        for b in out:
            p0, p1 = ot_pairs(y0, y1, reg, block=b, gen=torch.Generator().manual_seed(k), a=a)
            c = ((p1 - a*p0)**2).sum(1)
            out[b].append((c.mean().item(), c.var().item()))
    row = dict(task=name, label=s['label'], reg=reg, n=n, draws=draws)
    for b, v in out.items():
        v = torch.tensor(v); row[f'block{b}'] = dict(mean=v[:, 0].mean().item(), var=v[:, 1].mean().item(),
                                                    mean_se=(v[:, 0].std()/draws**0.5).item())
    row['mean_ratio'] = row['block1024']['mean']/row['block4096']['mean']
    row['var_ratio'] = row['block1024']['var']/row['block4096']['var']
    return row

def plot(res, png):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = res['rows']
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = torch.arange(len(rows)).float()
    bars = [('old_auto', "'auto' of 0.2.0"), ('emd_sinkhorn', "'emd_sinkhorn'"), ('auto', "'auto' now")]
    for k, (m, lab) in enumerate(bars):
        ax.bar(x + (k - 1)*0.27, [max(r[m]['l1'], 1e-4) for r in rows], 0.27, label=lab)
    ax.set_yscale('log'); ax.set_ylabel('L1 to the converged plan'); ax.set_xticks(x.tolist())
    ax.set_xticklabels([f"{r['task']}\n{r['partners']:.0f} partners" for r in rows], rotation=60, fontsize=7,
                       ha='right')
    ax.set_ylim(top=30); ax.legend(fontsize=8, loc='upper center', ncol=3)
    ax.set_title('Minibatch OT plans (blocks of 1,024, reg = 2 s_N): distance to the entropic plan (S2)', fontsize=9)
    fig.tight_layout(); fig.savefig(png, dpi=110); plt.close(fig)
    publish_fig(png)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--tasks', nargs='*', default=TASKS)
    p.add_argument('--out', default=str(OUT))
    p.add_argument('--blocks', action='store_true', help='pair costs at blocks of 1,024 against 4,096 (ot_blocks.json)')
    p.add_argument('--pairs', action='store_true',
                   help='the pair statistics on the exact tasks (bench/results/ot_pairs.json)')
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.blocks:
        rows = []
        for name in args.tasks:
            rows.append(block_stats(name)); r = rows[-1]
            print(f"{name:18s} mean 1024 / 4096 {r['mean_ratio']:.3f}  var {r['var_ratio']:.3f}", flush=True)
        out = write_results(args.out if args.out != str(OUT) else root/'bench'/'results'/'ot_blocks.json',
                            results('ot_blocks', dict(n=4096, draws=4, blocks=[1024, 4096], method='auto'), rows,
                                    machine('cpu', 1)), publish=args.out == str(OUT))
        print('wrote', out); return
    if args.pairs:
        rows = []
        for name in PAIR_TASKS:
            rows.append(pair_stats(name)); r = rows[-1]
            print(f"{name:16s} " + ' | '.join(f"{k}: {r[k]['mean']:.3f} var {r[k]['var']:.3f} far {r[k]['far']:.4f}"
                                              for k in r if isinstance(r[k], dict)), flush=True)
        dest = root/'bench'/'results'/'ot_pairs.json' if args.out == str(OUT) else args.out + '_pairs.json'
        out = write_results(dest,
                            results('ot_pairs', dict(n=4096, draws=8, far="share of pairs with |y - x|^2 > 10 d s_N, "
                                                     "ten times the reference's own mean squared displacement"),
                                    rows, machine('cpu', 1)), publish=True)
        print('wrote', out); return
    rows = []
    for name in args.tasks:
        rows.append(run_task(name))
        r = rows[-1]
        print(f"{name:18s} partners {r['partners']:7.1f} | " + ' | '.join(
            f"{m} ({r[m]['method']}) L1 {r[m]['l1']:.3f} x{r[m]['time_vs_emd']:.1f}" for m in ['old_auto'] + METHODS),
            flush=True)
    res = results('ot_solvers', dict(block=1024, n_iter=200, tol=1e-4,
                                     reference='sinkhorn_log, 3000 iterations, tol 1e-7',
                                     threads=1), rows, machine('cpu', 1))
    out = write_results(args.out + '.json', res, publish=True)
    plot(res, out.with_suffix('.png'))
    print('wrote', out)

if __name__ == '__main__':
    sys.path.insert(0, str(root/'bench'))
    main()
