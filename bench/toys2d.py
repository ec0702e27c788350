"""Benchmark for nbs/08_toys_2d (paper Figure 3 and Figure 7 top): SGM (DSB iteration 1) vs later DSB iterations on 2-D toys,
and the Swiss roll -> S-curve transfer. Exact W2 (POT emd2) on held-out samples next to the data-vs-data floor.

    python bench/toys2d.py                               # CPU-reduced default (~15-20 min on one core)
    python bench/toys2d.py --iters 20 --steps 5000       # closer to the paper
Writes OUT.json, OUT.png (per dataset: data, SGM, last iteration), nbs/figs/08_transfer.png and nbs/figs/08_explorer.png.
"""
import argparse, json, platform, time
from pathlib import Path
import torch, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from dsb_nb.toys2d import run_generation, run_transfer, plot_generation, plot_snapshots, explorer_grid, TOY_DSB_KW

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, default=10, help='IPF iterations L (paper: 20)')
    p.add_argument('--steps', type=int, default=1000, help='gradient steps per half-iteration')
    p.add_argument('--datasets', default='eight_gaussians,moons,swiss_roll,checkerboard')
    p.add_argument('--n-eval', type=int, default=2000, help='samples for each exact W2')
    p.add_argument('--transfer-iters', type=int, default=None, help='IPF iterations for the transfer (default: --iters)')
    p.add_argument('--no-transfer', action='store_true')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default='bench/results/toys2d', help='output path without extension')
    p.add_argument('--figs', default='nbs/figs', help='folder for the transfer and explorer figures')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out, figs = Path(a.out), Path(a.figs); out.parent.mkdir(parents=True, exist_ok=True); figs.mkdir(parents=True, exist_ok=True)
    names = a.datasets.split(',')
    dsb_kw = {**TOY_DSB_KW, 'n_steps': a.steps}
    info = dict(device=a.device if a.device == 'cpu' else torch.cuda.get_device_name(a.device), torch=torch.__version__, python=platform.python_version(), processor=platform.processor() or platform.machine(),
                threads=a.threads, cpu_reduced=True,
                note=f'paper: 20 IPF iterations; here {a.iters} iterations of {a.steps} steps per half, TimeMLP small preset, one CPU thread',
                settings=dict(iters=a.iters, steps=a.steps, n_eval=a.n_eval, seed=a.seed, generation=dict(N=20, gamma=0.01, T=0.2,
                              reference='OU f(x)=-x/sigma2_data', prior='N(0, sigma2_data I)'), dsb_kw=dsb_kw),
                generation={}, transfer=None)
    save = lambda: out.with_suffix('.json').write_text(json.dumps(info, indent=1))
    fig, axs = plt.subplots(len(names), 3, figsize=(8, 2.7*len(names)), squeeze=False)
    for row, name in zip(axs, names):
        t0 = time.time()
        dsb, res = run_generation(name, n_ipf=a.iters, n_eval=a.n_eval, seed=a.seed, n_steps=a.steps, device=a.device,
                                  keep_traj=500 if name == names[0] else 0)
        info['generation'][name] = dict(sigma2_data=res['sigma2'], floor=res['floor'], w2=res['w2'], cum_time_s=res['time_s'],
                                        wall_s=time.time() - t0, w2_first_over_floor=res['w2'][0]/res['floor'],
                                        w2_last_over_floor=res['w2'][-1]/res['floor'])
        plot_generation(res, axs=row); save()
        if name == names[0]:
            ex = explorer_grid(dsb, iters=sorted({0, 1, a.iters - 1}), ks=[dsb.N, dsb.N//2, 0])
            ex.savefig(figs/'08_explorer.png', dpi=70); plt.close(ex)
        print(name, [round(w, 3) for w in res['w2']], 'floor', round(res['floor'], 3), f'{time.time() - t0:.0f}s', flush=True)
    fig.tight_layout(); fig.savefig(out.with_suffix('.png'), dpi=70); plt.close(fig)
    if not a.no_transfer:
        t0, L = time.time(), a.transfer_iters or a.iters
        dsb, res = run_transfer(n_ipf=L, n_eval=a.n_eval, seed=a.seed, n_steps=a.steps, device=a.device)
        info['transfer'] = dict(src='swiss_roll', dst='s_curve', N=50, T=1., reference='Brownian', iters=L,
                                w2_fwd=res['w2_fwd'], floor_fwd=res['floor_fwd'], w2_bwd=res['w2_bwd'], floor_bwd=res['floor_bwd'],
                                cum_time_s=res['time_s'], wall_s=time.time() - t0)
        f2 = plot_snapshots(res['traj'], T=1.); f2.suptitle(f'Swiss roll -> S-curve, forward chain after iteration {L}', fontsize=8)
        f2.tight_layout(); f2.savefig(figs/'08_transfer.png', dpi=70); plt.close(f2); save()
        print('transfer fwd', [round(w, 3) for w in res['w2_fwd']], 'floor', round(res['floor_fwd'], 3),
              'bwd', [round(w, 3) for w in res['w2_bwd']], 'floor', round(res['floor_bwd'], 3), f'{time.time() - t0:.0f}s', flush=True)
    info['total_wall_s'] = sum(v['wall_s'] for v in info['generation'].values()) + (info['transfer'] or {}).get('wall_s', 0)
    save()

if __name__ == '__main__': main()
