#!/usr/bin/env python
"""Image-to-image transfer measured like MNIST generation (notebook 12): the offline stand-in pair, scikit-learn's
digits upsampled to 28x28 (the source, at time N) carried onto MNIST (the data, at time 0), trained on the CPU for a
fixed budget with the image recipe of bench/mnist.py --cpu-hour.

After every IPF iteration, 1,000 source images (the digits the trainer's prior is drawn from) are carried through the
learned backward chain and scored:
  * `fd`: the Fréchet distance of the outputs to the MNIST test set in the shipped classifier's features, next to the
    floor (1,000 real training images) and to the source images' own distance (`fd_source`: doing nothing);
  * `keep`: the share of outputs that the shipped MNIST classifier reads as the source image's own digit label (how
    much of the source each image keeps; 0.1 is chance). `keep_source` is the same classifier on the source images.

    python bench/transfer.py --budget 25 --threads 1                     # DSB (the paper), Brownian reference, T = 1.5
    python bench/transfer.py --budget 25 --solver dsbm-imf
    python bench/transfer.py --dry-run                                   # toy size, ~1 min, to a temporary folder

Writes bench/results/transfer.json (one entry per run, keyed by solver and reference) and transfer.png (copied to
nbs/figs/bench_transfer.png). Needs MNIST on disk (../shared/data or $DSB_NB_DATA) and scikit-learn.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(root), str(root/'bench')]
from _common import machine, publish_fig, use_local_data, results, read_results, write_results, common_machine
from mnist import CPU_HOUR, solver_kw, _size_steps
from dsb_nb.mnist import MnistConfig, MnistFD, image_dsb, shipped_classifier, show_images
from dsb_nb.transfer import load_digits28
from dsb_nb.metrics import load_mnist
from dsb_nb.score_matching import n_params


@torch.no_grad()
def keep_share(net, x, labels)->float:
    "Share of images `x` that the classifier `net` reads as `labels`"
    pred = torch.cat([net(x[i:i + 500].clamp(-1, 1)).argmax(1) for i in range(0, len(x), 500)])
    return (pred == labels).float().mean().item()


def run(a):
    t_start = time.time()
    torch.manual_seed(0)
    device = torch.device('cpu')
    net = shipped_classifier()
    fd = MnistFD(net)
    src, labels = load_digits28()
    dst = load_mnist(True)[0]
    ou = a.reference == 'ou'
    kw = dict(CPU_HOUR, T=a.T or (3. if ou else 1.5), alpha=1. if ou else 0.)    # 1.5: the paper's transfer horizon
    if a.dry_run: kw.update(N=6, unet_kw={'ch': 8}, n_cache=64, bs=16, n_eval=64, eval_bs=64)
    cfg = MnistConfig(**kw, amp=False)
    cfg.n_ipf = a.iters
    n_eval = min(cfg.n_eval, len(src))
    perm = torch.randperm(len(src), generator=torch.Generator().manual_seed(1))[:n_eval]
    x_eval, y_eval = src[perm], labels[perm]

    def make(n_steps=None):
        c = MnistConfig(**{**cfg.__dict__, **({'n_steps': n_steps} if n_steps else {})})
        return image_dsb(c, dst, src, (1, 28, 28), device, None, 0, sys.stderr.isatty(), n_eval=16 if a.dry_run else 100,
                         **solver_kw(a.solver))

    halves = 2*cfg.n_ipf - 1                              # the last iteration trains only its backward half
    if a.dry_run: cfg.n_steps, measured = 10, {}
    else:
        # the speeds of generation with the same U-net and chain stand in for the transfer's (same steps, same nets)
        cfg.n_steps, measured = _size_steps(cfg, dst, device, fd, 60*a.budget, t_start, halves, cfg.n_ipf, a.solver)
    print('steps per half', cfg.n_steps, measured, flush=True)
    dsb = make()
    rows, grids = [], {}
    base = {'fd_source': float(fd(x_eval)), 'keep_source': keep_share(net, x_eval, y_eval), 'floor': float(fd.floor(n_eval))}
    print('source', base, flush=True)
    for n in range(1, cfg.n_ipf + 1):
        if n < cfg.n_ipf:
            dsb.fit(n)
            train_s = sum(h['train_s'] for h in dsb.history if h['ipf'] == n - 1)
        else: train_s = dsb.train_half('backward')['train_s']         # the generative (backward) network only
        t0 = time.time()
        out = torch.cat([dsb.sample(x=x_eval[i:i + cfg.eval_bs]) for i in range(0, n_eval, cfg.eval_bs)])
        rows.append({'ipf': n, 'train_s': train_s, 'sample_s': time.time() - t0, 'fd': float(fd(out)),
                     'keep': keep_share(net, out, y_eval), 'wall_s': time.time() - t_start, **base})
        grids[n] = out[:12].cpu()
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
    name = f"{a.solver}_{a.reference}"
    res = {'run': name, 'machine': machine('cpu'), 'dry_run': a.dry_run, 'cpu_reduced': True, 'solver': a.solver,
           'reference': f'OU f(x) = -x, T = {cfg.T:g}' if ou else f'Brownian, T = {cfg.T:g}',
           'pair': 'scikit-learn digits (1,797, upsampled to 28x28) -> MNIST training images', 'config': cfg.__dict__,
           'budget_min': a.budget, 'measured_at_start': measured, 'n_params_per_net': n_params(dsb.net_b),
           'last_backward_only': True, 'gradient_steps': halves*cfg.n_steps, 'rows': rows,
           'wall_s': time.time() - t_start}
    out_dir = Path(a.out) if a.out else (Path(tempfile.mkdtemp()) if a.dry_run else root/'bench'/'results')
    out_dir.mkdir(parents=True, exist_ok=True)
    f = out_dir/'transfer.json'
    allres = read_results(f) if f.exists() else results('transfer', {'pair': res['pair']}, [], machine('cpu'))
    allres['rows'] = [r for r in allres['rows'] if r['run'] != name] + [res]    # one row per solver x reference, the newest
    allres['machine'] = common_machine(allres['rows'])
    write_results(f, allres)
    torch.save({'grids': grids, 'src': x_eval[:12]}, out_dir/f'.transfer_{name}_grids.pt')
    plot(out_dir, allres)
    print(f'wrote {f}', flush=True)


def plot(out_dir, allres):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    runs = {r['run']: r for r in allres['rows']}
    names = list(runs)
    fig, axs = plt.subplots(1, 2 + len(names), figsize=(4.2*(2 + len(names)), 3.6))
    for name in names:
        rows = runs[name]['rows']
        axs[0].plot([r['ipf'] for r in rows], [r['fd'] for r in rows], 'o-', label=name)
        axs[1].plot([r['ipf'] for r in rows], [r['keep'] for r in rows], 'o-', label=name)
    r0 = runs[names[0]]['rows'][0]
    axs[0].axhline(r0['floor'], ls=':', c='k', label='floor (real MNIST)')
    axs[0].axhline(r0['fd_source'], ls='--', c='gray', label='source images as they are')
    axs[0].set(xlabel='IPF iteration', ylabel='Fréchet distance to MNIST', yscale='log')
    axs[1].axhline(r0['keep_source'], ls='--', c='gray', label='source images as they are')
    axs[1].axhline(0.1, ls=':', c='k', label='chance')
    axs[1].set(xlabel='IPF iteration', ylabel="outputs read as the source's digit", ylim=(0, 1))
    for ax in axs[:2]: ax.legend(fontsize=7)
    for ax, name in zip(axs[2:], names):
        g = torch.load(out_dir/f'.transfer_{name}_grids.pt')
        last = max(g['grids'])
        show_images(torch.cat([g['src'][:6], g['grids'][last][:6], g['src'][6:12], g['grids'][last][6:12]]), nrow=6, ax=ax,
                    title=f'{name}: sources (rows 1, 3) and outputs\nafter IPF iteration {last}')
    fig.suptitle('digits -> MNIST transfer on the CPU (bench/transfer.py; CPU-reduced)', fontsize=9)
    fig.tight_layout()
    fig.savefig(out_dir/'transfer.png', dpi=100)
    plt.close(fig)
    if out_dir == root/'bench'/'results': publish_fig(out_dir/'transfer.png')


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--budget', type=float, default=25., help='minutes of wall time: training + sampling + scoring')
    p.add_argument('--iters', type=int, default=2, help='IPF iterations (the last trains only its backward half)')
    p.add_argument('--solver', default='dsb', choices=['dsb', 'dsbm', 'dsbm-imf'])
    p.add_argument('--reference', default='brownian', choices=['brownian', 'ou'])
    p.add_argument('--T', type=float, default=None, help='the horizon (default 1.5 Brownian, as the paper; 3 OU)')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--dry-run', action='store_true', help='toy size, results to a temporary folder (or --out)')
    p.add_argument('--out', help='results folder (default bench/results)')
    a = p.parse_args()
    use_local_data()
    torch.set_num_threads(a.threads or (1 if a.dry_run else os.cpu_count()))
    run(a)


if __name__ == '__main__': main()
