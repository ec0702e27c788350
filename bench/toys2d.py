"""Benchmark for nbs/08_toys_2d (paper Figure 3 and Figure 7 top): SGM (DSB iteration 1) vs later DSB iterations on 2-D toys,
and the Swiss roll -> S-curve transfer. Exact W2 (POT emd2) on held-out samples next to the data-vs-data floor.

    python bench/toys2d.py                               # CPU-reduced default (~15-20 min on one core)
    python bench/toys2d.py --iters 20 --steps 5000       # closer to the paper
    python bench/toys2d.py --authors-config              # the authors' own 2-D configuration (see `authors_config`)
    python bench/toys2d.py --defaults                    # the library's DSB defaults instead of TOY_DSB_KW (OUT: results/toys2d_defaults)
    python bench/toys2d.py --defaults --solver dsbm      # the same with DSBM (OUT: results/toys2d_defaults_dsbm)
Writes OUT.json, OUT.png (per dataset: data, SGM, last iteration), nbs/figs/08_transfer.png and nbs/figs/08_explorer.png
(with --solver dsbm: 08_transfer_dsbm.png, 08_explorer_dsbm.png).
"""
import argparse, json, math, textwrap, time
from pathlib import Path
import torch, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from dsb_nb.toys2d import run_generation, run_transfer, plot_generation, plot_snapshots, explorer_grid, TOY_DSB_KW
from _common import machine, results, read_results, write_results, common_machine, publish_json

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, default=10, help='IPF iterations L (paper: 20)')
    p.add_argument('--steps', type=int, default=None, help='gradient steps per half-iteration (default 1000; 5000 with --authors-config)')
    p.add_argument('--datasets', default='eight_gaussians,moons,swiss_roll,checkerboard')
    p.add_argument('--n-eval', type=int, default=2000, help='samples for each exact W2')
    p.add_argument('--draws', type=int, default=1, help='> 1: also record each W2 as a median over this many independent draws, with its floor (score_draws)')
    p.add_argument('--transfer-iters', type=int, default=None, help='IPF iterations for the transfer (default: --iters)')
    p.add_argument('--no-transfer', action='store_true')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default=None, help='output path without extension (default bench/results/toys2d, toys2d_defaults[_dsbm] with --defaults)')
    p.add_argument('--defaults', action='store_true', help="train with DSB's own defaults (batch, steps, lr and schedule, EMA, cache) instead of TOY_DSB_KW")
    p.add_argument('--figs', default='nbs/figs', help='folder for the transfer and explorer figures')
    p.add_argument('--authors-config', action='store_true', help="the authors' 2-D setting: s-curve x7, N=20, gamma=0.01, batch 512")
    p.add_argument('--label', default='defaults', help='--authors-config: name of this run in the JSON (several runs accumulate)')
    p.add_argument('--surrogate', action='store_true', help="only compute the authors' setting's Gaussian surrogate (ideal IPF on the data's Gaussian fit) into OUT_authors.json")
    p.add_argument('--it1-seeds', type=int, nargs='+', help="authors' setting: train only iteration 1's backward half (SGM) for these seeds "
                   "with --kw's options and record W2 under --label in OUT_authors.json['it1_probe']")
    p.add_argument('--authors-figure', action='store_true', help="only draw OUT_authors.png (and nbs/figs/bench_toys2d_authors.png) from OUT_authors.json")
    p.add_argument('--solver', default='dsb', choices=['dsb', 'dsbm'], help="the trainer (dsbm: pass e.g. --kw '{\"coupling\": \"independent\"}')")
    p.add_argument('--kw', default='{}', help='extra trainer options as JSON, e.g. \'{"lr": 3e-3}\'')
    a = p.parse_args()
    a.out = a.out or ('bench/results/toys2d' + ('_defaults' if a.defaults else '') + ('_dsbm' if a.defaults and a.solver == 'dsbm' else ''))
    torch.set_num_threads(a.threads)
    if a.surrogate: return surrogate(a)
    if a.it1_seeds: return it1_probe(a)
    if a.authors_figure: return authors_figure(a)
    if a.authors_config: return authors_config(a)
    from dsb_nb.solvers import SOLVERS
    from _common import dsb_defaults
    cls, tag = SOLVERS[a.solver], ('' if a.solver == 'dsb' else f'_{a.solver}')
    if a.defaults:   # DSB's own defaults for every key TOY_DSB_KW sets (the steps too, unless --steps)
        dsb_kw = dsb_defaults(k for k in TOY_DSB_KW if k not in ('progress', 'n_eval'))   # n_eval: the runners' own (W2 samples)
        a.steps = a.steps or dsb_kw['n_steps']
    else: a.steps = a.steps or 1000; dsb_kw = {k: v for k, v in TOY_DSB_KW.items() if k not in ('progress', 'n_eval')}
    ipf = {'coupling': 'reference'} if a.solver == 'dsbm' else {}      # DSBM-IPF, as recorded (the default is now 'auto')
    dsb_kw = {**dsb_kw, **ipf, 'n_steps': a.steps, **json.loads(a.kw)}
    out, figs = Path(a.out), Path(a.figs); out.parent.mkdir(parents=True, exist_ok=True); figs.mkdir(parents=True, exist_ok=True)
    names = a.datasets.split(',')
    info = results('toys2d', machine=machine(a.device, a.threads), rows=[], solver=a.solver, defaults=a.defaults,
                note=f'paper: 20 IPF iterations; here {a.iters} iterations of {a.steps} steps per half, '
                     f"{'the library defaults (TimeMLP auto)' if a.defaults else 'TOY_DSB_KW (TimeMLP auto)'}, {a.solver.upper()}, {a.threads} CPU thread(s)",
                settings=dict(iters=a.iters, steps=a.steps, n_eval=a.n_eval, seed=a.seed, generation=dict(N=20, gamma=0.01, T=0.2,
                              reference='OU f(x)=-x/sigma2_data', prior='N(0, sigma2_data I)'), dsb_kw=dsb_kw))
    save = lambda: write_results(out.with_suffix('.json'), info)
    fig, axs = plt.subplots(len(names), 3, figsize=(8, 2.7*len(names)), squeeze=False)
    for row, name in zip(axs, names):
        t0 = time.time()
        dsb, res = run_generation(name, n_ipf=a.iters, n_eval=a.n_eval, seed=a.seed, device=a.device, cls=cls,
                                  keep_traj=500 if name == names[0] else 0, draws=a.draws, **dsb_kw)
        info['rows'].append(dict(task='generation', dataset=name, sigma2_data=res['sigma2'], floor=res['floor'], w2=res['w2'], cum_time_s=res['time_s'],
                                        wall_s=time.time() - t0, w2_first_over_floor=res['w2'][0]/res['floor'],
                                        w2_last_over_floor=res['w2'][-1]/res['floor'],
                                        **({'w2_draws': res['w2_draws']} if a.draws > 1 else {})))
        plot_generation(res, axs=row); save()
        if name == names[0]:
            ex = explorer_grid(dsb, iters=sorted({0, min(1, a.iters - 1), a.iters - 1}), ks=[dsb.N, dsb.N//2, 0])
            ex.savefig(figs/f'08_explorer{tag}.png', dpi=70); plt.close(ex)
        print(name, [round(w, 3) for w in res['w2']], 'floor', round(res['floor'], 3), f'{time.time() - t0:.0f}s', flush=True)
    fig.tight_layout(); fig.savefig(out.with_suffix('.png'), dpi=70); plt.close(fig)
    from _common import publish_fig; publish_fig(out.with_suffix('.png'))     # the book shows figs/bench_NAME.png
    if not a.no_transfer:
        t0, L = time.time(), a.transfer_iters or a.iters
        dsb, res = run_transfer(n_ipf=L, n_eval=a.n_eval, seed=a.seed, device=a.device, cls=cls, draws=a.draws, **dsb_kw)
        info['rows'].append(dict(task='transfer', src='swiss_roll', dst='s_curve', N=50, T=1., reference='Brownian', iters=L,
                                w2_fwd=res['w2_fwd'], floor_fwd=res['floor_fwd'], w2_bwd=res['w2_bwd'], floor_bwd=res['floor_bwd'],
                                cum_time_s=res['time_s'], wall_s=time.time() - t0,
                                **({k: res[k] for k in ('w2_fwd_draws', 'w2_bwd_draws')} if a.draws > 1 else {})))
        f2 = plot_snapshots(res['traj'], T=1.); f2.suptitle(f'Swiss roll -> S-curve, {a.solver.upper()} forward chain after iteration {L}', fontsize=8)
        f2.tight_layout(); f2.savefig(figs/f'08_transfer{tag}.png', dpi=70); plt.close(f2); save()
        print('transfer fwd', [round(w, 3) for w in res['w2_fwd']], 'floor', round(res['floor_fwd'], 3),
              'bwd', [round(w, 3) for w in res['w2_bwd']], 'floor', round(res['floor_bwd'], 3), f'{time.time() - t0:.0f}s', flush=True)
    info['total_wall_s'] = sum(r['wall_s'] for r in info['rows'])
    save()

AUTHORS_CURVE = [3.21, 3.51, 3.30, 3.13, 2.97, 2.93, 3.04, 3.07, 2.89, 2.95, 2.52, 2.31, 2.48, 2.28, 2.43, 2.29, 2.10, 1.99, 1.94, 1.84]
N_DRAWS = 5                      # W2 at n = 2,000 varies by +-0.4 between draws on this data: report the mean of 5
AUTHORS_S_PER_ITER = 98.5        # the authors' code on the 2-core CPU machine, 2 threads (measured by the issue's author)

def s_curve_authors(n, seed, stats=None):
    "The authors' 2-D data: sklearn make_s_curve, columns 0 and 2, standardised by one scalar mean and std, times 7"
    from sklearn.datasets import make_s_curve
    x = torch.tensor(make_s_curve(n, random_state=seed)[0][:, [0, 2]], dtype=torch.float32)
    m, s = stats if stats is not None else (x.mean().item(), x.std().item())
    return 7*(x - m)/s, (m, s)

def authors_data(seed):
    "The authors' 2-D setting: 10,000 training points, N_DRAWS held-out sets of 2,000, and the prior's mean and pooled variance (100 points)"
    data, stats = s_curve_authors(10_000, seed)
    held = [s_curve_authors(2_000, seed + 1 + i, stats)[0] for i in range(N_DRAWS)]
    return data, held, data[:100].mean(0), data[:100].var(0).mean().item()

def authors_floor(held):
    "The data-vs-data W2 floor of the held-out sets: the mean over the N_DRAWS pairs of consecutive sets"
    from dsb_nb.score_matching import w2
    return sum(w2(held[i], held[(i + 1) % N_DRAWS]) for i in range(N_DRAWS))/N_DRAWS

def authors_config(a):
    """DSB on the authors' 2-D configuration: 10,000 training points, prior N(mean, pooled var I) from 100 data points,
    OU reference towards it (alpha = 1/var), N = 20, gamma = 0.01 (T = 0.2), batch 512. Exact W2 on 2,000 generated points
    against 2,000 held-out points, per IPF iteration, with the wall time; runs accumulate in OUT_authors.json by --label."""
    import math
    from dsb_nb.dsb import gaussian_sampler
    from dsb_nb.solvers import SOLVERS
    from dsb_nb.reference import make_gammas, ou
    from dsb_nb.score_matching import w2
    data, held, mean, var = authors_data(a.seed)
    floor = authors_floor(held)
    kw = dict(bs=512, n_steps=a.steps or 5000, progress=False, seed=a.seed, device=a.device, **json.loads(a.kw))
    torch.manual_seed(a.seed)
    if 'net' in kw:         # a named TimeMLP preset, with net_kw (e.g. {"out_scale": 100}: see `make_net`)
        net, net_kw = kw.pop('net'), kw.pop('net_kw', {})
        kw.update(net_f=make_net(net, net_kw, 'forward'), net_b=make_net(net, net_kw, 'backward'))
    dsb = SOLVERS[a.solver](data, gaussian_sampler(2, mean=mean, std=math.sqrt(var)), make_gammas(20, T=0.2), f=ou(1/var), **kw)
    path = Path(str(a.out) + '_authors.json')
    info = read_results(path) if path.exists() else results('toys2d', rows=[], machine={}, cpu_reduced=False, settings=dict(
        setting="s-curve (sklearn make_s_curve cols 0, 2, scalar-standardised x7), 10,000 points; prior N(mean, pooled var I) of 100 "
                "points; OU reference alpha=1/var (centred at 0); N=20, gamma=0.01, T=0.2, batch 512; W2 between 2,000 generated and 2,000 "
                "held-out points, mean over 5 independent draws (one draw varies by +-0.4 here); floor: the same for data vs data",
        ), references=dict(authors=dict(w2=AUTHORS_CURVE, s_per_iter=AUTHORS_S_PER_ITER, threads=2)))
    run = dict(run=a.label, machine=machine(a.device, a.threads), solver=a.solver, kw={k: v for k, v in {**kw, **json.loads(a.kw)}.items() if k not in ('progress', 'net_f', 'net_b')}, threads=a.threads, floor=floor, w2=[], train_s=[], wall_s=[])
    if not path.exists(): write_results(path, info)
    _save_run(path, run)                                                          # a rerun of a label replaces it
    t0, tt = time.time(), 0.
    for it in range(1, a.iters + 1):
        ts = time.time(); dsb.fit(it); tt += time.time() - ts
        xs = [dsb.sample(2000).cpu() for _ in range(N_DRAWS)]; x = xs[0]
        run['w2'].append(sum(w2(xi, hi) for xi, hi in zip(xs, held))/N_DRAWS); run['train_s'].append(tt); run['wall_s'].append(time.time() - t0)
        _save_run(path, run)
        print(f"{a.label} it {it}: W2 {run['w2'][-1]:.3f} (floor {floor:.3f}, authors {AUTHORS_CURVE[it - 1] if it <= 20 else float('nan'):.2f}) "
              f"{run['wall_s'][-1]:.0f}s", flush=True)
    run['samples'] = x[:1000].tolist()
    _save_run(path, run)
    authors_figure(a)

def _save_run(path, run):
    "Write `run` into OUT_authors.json, re-read first: runs in parallel processes each keep their own row"
    info = read_results(path)
    info['rows'] = [r for r in info['rows'] if r['run'] != run['run']] + [run]
    info['machine'] = common_machine(info['rows'])
    write_results(path, info)
    publish_json(path)                                                           # 08 reads nbs/results/

def authors_figure(a):
    "Held-out data and the last generated samples of every run with 20 iterations in OUT_authors.json, side by side"
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    path = Path(str(a.out) + '_authors.json'); info = read_results(path)
    runs = [(r['run'], r) for r in info['rows'] if 'samples' in r and ('1 thread' not in r['run'])]
    _, held, _, _ = authors_data(a.seed)
    fig, axs = plt.subplots(1, len(runs) + 1, figsize=(2.5*(len(runs) + 1), 3.6), sharex=True, sharey=True, squeeze=False); axs = axs[0]
    axs[0].scatter(*held[0][:1000].T, s=2, c='k'); axs[0].set_title('held-out data (1,000 points)', fontsize=8)
    for ax, (k, r) in zip(axs[1:], runs):
        x = torch.tensor(r['samples']); ax.scatter(*x.T, s=2, c='C3' if r.get('solver') == 'dsbm' else 'C0')
        name = textwrap.fill(k.split(' (2 threads')[0].replace("DSBM(..., coupling='independent'), ", ''), 30)
        ax.set_title(f"{name}\nit. {len(r['w2'])}: $W_2$ {r['w2'][-1]:.2f} (floor {r['floor']:.2f})", fontsize=7)
    lo, hi = held[0].min(0).values, held[0].max(0).values; pad = 0.3*(hi - lo)
    for ax in axs: ax.set_aspect('equal'); ax.set_xlabel('$x_1$'); ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0]); ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    axs[0].set_ylabel('$x_2$')
    fig.suptitle("The authors' 2-D configuration: generated samples at each run's last iteration (axes clipped to the data's range)", fontsize=9)
    fig.tight_layout(); out = Path(str(a.out) + '_authors.png'); fig.savefig(out, dpi=80); plt.close(fig)
    from _common import publish_fig; publish_fig(out)

def make_net(net, net_kw, direction='forward'):
    """TimeMLP.preset(2, net, **net_kw), e.g. net_kw = {'out_scale': 100}: the net then outputs a displacement, not a
    drift; net='authors': `AuthorsMLP(backward=direction == 'backward', **net_kw)`"""
    from dsb_nb.score_matching import TimeMLP
    if net == 'authors': return AuthorsMLP(backward=direction == 'backward', **net_kw)
    return TimeMLP.preset(2, net, **net_kw)

class AuthorsMLP(torch.nn.Module):
    """A probe: a net shaped like the authors' 2-D network, written from its description. The raw step index j gets a
    16-dimensional sinusoidal embedding (8 frequencies 10000^(-i/7)); it and x are each encoded to 32 features by an MLP
    with one hidden layer of 16 units, and a decoder with two hidden layers of 128 maps both to the output. LeakyReLU,
    PyTorch's default initialisation, output times `out_scale`. j counts the steps of the chain the net drives, from
    its start: k for the forward net, N - k for the backward one (k = N..1). `train_shift`: in training mode the
    index is j - train_shift. The authors' code feeds T - (its cache's step index) in training and the raw index when
    sampling, which is that shift with train_shift = N - 1 - T (18.8 here). The latest version of their code feeds time
    instead: `time_scale=gamma` embeds gamma*(j + 1 - shift), the time at the end of the step when sampling and one step
    earlier in training (train_shift=1). `predict_mean`: the net's output is the next state's mean itself (their
    `mean_match: True`), turned into the drift the trainer expects, out_scale*(output - x) with out_scale = 1/gamma."""
    def __init__(self, dim:int=2, N:int=20, backward:bool=False, out_scale:float=1., train_shift:float=0.,
                 time_scale:float|None=None, predict_mean:bool=False):
        super().__init__()
        act = torch.nn.LeakyReLU
        self.N, self.backward, self.out_scale, self.train_shift = N, backward, out_scale, train_shift
        self.time_scale, self.predict_mean = time_scale, predict_mean
        self.t_enc = torch.nn.Sequential(torch.nn.Linear(16, 16), act(), torch.nn.Linear(16, 32))
        self.x_enc = torch.nn.Sequential(torch.nn.Linear(dim, 16), act(), torch.nn.Linear(16, 32))
        self.dec = torch.nn.Sequential(torch.nn.Linear(64, 128), act(), torch.nn.Linear(128, 128), act(),
                                       torch.nn.Linear(128, dim))
        self.register_buffer('freq', torch.exp(-math.log(10_000)*torch.arange(8)/7))
    def forward(self, x, k):
        j = torch.as_tensor(k, device=x.device).float().reshape(-1, 1).expand(len(x), 1)
        if self.backward: j = self.N - j
        if self.training: j = j - self.train_shift
        if self.time_scale is not None: j = self.time_scale*(j + 1)
        e = j*self.freq
        h = torch.cat([self.x_enc(x), self.t_enc(torch.cat([e.sin(), e.cos()], 1))], 1)
        out = self.dec(h)
        return self.out_scale*(out - x if self.predict_mean else out)

def it1_probe(a):
    """Iteration 1 only (the backward half, i.e. SGM) of the authors' setting, for several seeds: its W2 measures how well the
    network, trained where the forward chain goes (near the data: T = 0.2 moves points by ~0.6 against a scale of 13),
    extrapolates to where sampling starts (the prior). The spread over seeds is the point."""
    import math
    from dsb_nb.dsb import DSB, gaussian_sampler
    from dsb_nb.reference import make_gammas, ou
    from dsb_nb.score_matching import w2
    data, held, mean, var = authors_data(0)
    kw = json.loads(a.kw); net, net_kw = kw.pop('net', None), kw.pop('net_kw', {})     # net_kw: e.g. {"skip": false}
    out = []
    for seed in a.it1_seeds:
        if net:
            torch.manual_seed(seed)
            kw.update(net_f=make_net(net, net_kw, 'forward'), net_b=make_net(net, net_kw, 'backward'))
        prior, gam, f = gaussian_sampler(2, mean=mean, std=math.sqrt(var)), make_gammas(20, T=0.2), ou(1/var)
        if kw.get('standardize'):     # the same chain in standardised units: X = s Y turns gamma into gamma/s^2, alpha into alpha s^2
            sc = DSB(data, prior, gam, f=f, n_steps=1, progress=False, seed=seed, device=a.device, **kw).scale
            gam, f = gam/sc**2, ou(sc**2/var)
        dsb = DSB(data, prior, gam, f=f, bs=512, n_steps=a.steps or 5000, progress=False, seed=seed, device=a.device, **kw)
        dsb.train_half('backward')
        out.append(sum(w2(dsb.sample(2000).cpu(), h) for h in held)/N_DRAWS)
        print(a.label, seed, round(out[-1], 3), flush=True)
    path = Path(str(a.out) + '_authors.json'); info = read_results(path)
    info.setdefault('it1_probe', {})[a.label] = dict(kw=a.kw, seeds=a.it1_seeds, w2=out, steps=a.steps or 5000)
    write_results(path, info)

def surrogate(a):
    """What perfectly trained IPF does on a Gaussian stand-in for the authors' setting: the data replaced by the Gaussian with
    its mean and covariance, the same prior, reference and steps, and `ideal_dsb_gaussian` run for 20 iterations (both kernels).
    Recorded: the Bures-Wasserstein distance of the generated marginal to the data's Gaussian after each iteration. It is a
    heuristic (IPF on the real s-curve does not keep to two moments), not a bound, but it separates what IPF itself needs from
    training error: at iteration 1 it gives what an ideal SGM would score."""
    import math
    from dsb_nb.continuous import ideal_dsb_gaussian
    from dsb_nb.reference import make_gammas, ou
    from dsb_nb.accuracy import bw2
    data, _, mean, var = authors_data(a.seed); mean = mean.double()
    m0, S0 = data.double().mean(0), torch.cov(data.double().T)
    out = {}
    for kern in ('dsb', 'exact'):
        rows = [r for r in ideal_dsb_gaussian(m0, S0, mean, var*torch.eye(2, dtype=torch.float64), make_gammas(20, T=0.2, dtype=torch.float64),
                                              ou(1/var), 20, kernel=kern) if r['chain'] == 'backward']
        out[kern] = [math.sqrt(max(bw2(r['mean'][:2], r['cov'][:2, :2], m0, S0).item(), 0.)) for r in rows]
    path = Path(str(a.out) + '_authors.json')
    info = read_results(path)
    info['gaussian_surrogate'] = dict(note=surrogate.__doc__.split('\n')[0].strip() + ' ...', bw_per_iteration=out)
    write_results(path, info)
    print({k: [round(x, 2) for x in v] for k, v in out.items()})

if __name__ == '__main__': main()
