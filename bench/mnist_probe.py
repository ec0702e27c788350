#!/usr/bin/env python
"""Why DSBM-IMF's second IPF iteration scores worse than its first on MNIST (issue 23): a measured account.

    python bench/mnist_probe.py --threads 2            # about 30 minutes alone on the 2-core machine
    python bench/mnist_probe.py --steps 100 --n 200 --out /tmp/probe   # a quick check of the code path

The reading under test (notebook 11): iteration 2's backward net regresses onto pairs (x0, x1) whose x0 is a real
image and whose x1 is the *forward net's* push-forward of it, but generation starts it from N(0, I). If the forward
net's push-forward of real images is not N(0, I), generation starts where the backward net was not trained, and the
FD rises although the net fits its own training pairs.

One run of the one-CPU-hour configuration (bench/mnist.py's CPU_HOUR, DSBM from the independent coupling), with the
same seed throughout, measures:

1. FD of iteration 1's backward net from N(0, I), over `--draws` independent draws of `--n` images (the spread that a
   single FD in mnist.json carries);
2. how far the forward net's end is from N(0, I) after iteration 1: the Gaussian Fréchet distance in pixel space
   (784 dimensions) of (a) real training images pushed forward, (b) iteration 1's generated images pushed forward,
   next to (c) the same statistic of `--n` exact N(0, I) draws (its estimation floor);
3. FD of iteration 2's backward net from N(0, I) (what generation does) and from the forward push-forward of real
   training images (what it was trained on), over the same draws;
4. how much of the image the round trip keeps: pixel MSE between a real image and its forward-then-backward
   reconstruction, next to the MSE between two unrelated real images.

Writes bench/results/mnist_probe.json (or --out DIR/mnist_probe.json) and a figure mnist_probe.png next to it.
"""
import argparse, sys, time
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from dsb_nb.mnist import MnistConfig, mnist_classifier, MnistFD, mnist_dsb, show_images
from dsb_nb.metrics import load_mnist, gaussian_frechet
from dsb_nb.score_matching import n_params

from _common import machine, publish_fig, use_local_data, results, write_results
from mnist import CPU_HOUR, _cpu_flags, solver_kw, save_grids

def prior_gap(z:torch.Tensor)->float:
    "Gaussian Fréchet distance, in pixel space, between the samples `z` (n, 1, 28, 28) and N(0, I)"
    z = z.flatten(1).double()
    d = z.shape[1]
    return gaussian_frechet(z.mean(0), torch.cov(z.T), torch.zeros(d, dtype=z.dtype), torch.eye(d, dtype=z.dtype))

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=2000, help='gradient steps per half (3 halves in all)')
    p.add_argument('--ch', type=int, default=16, help="the U-net's base channels (CPU_HOUR: 16)")
    p.add_argument('--n', type=int, default=1000, help='images per FD draw')
    p.add_argument('--draws', type=int, default=3, help='independent draws per FD')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--out', default=None, help='results folder (default bench/results)')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    use_local_data()
    t_start, device = time.time(), torch.device('cpu')
    cfg = MnistConfig(**{**CPU_HOUR, 'amp': 'bf16' in _cpu_flags(), 'unet_kw': {'ch': a.ch}, 'n_steps': a.steps, 'n_ipf': 2})
    clf, acc = mnist_classifier(device=device); fd = MnistFD(clf)
    x = load_mnist(True)[0]
    dsb = mnist_dsb(cfg, x, device=device, progress=sys.stderr.isatty(), n_eval=100, **solver_kw('dsbm-imf'))
    gen = torch.Generator().manual_seed(1)
    starts = [x[-(k + 1)*a.n:len(x) - k*a.n] for k in range(a.draws)]      # real training images, disjoint per draw
    exact = [torch.randn(a.n, 1, 28, 28, generator=gen) for _ in range(a.draws)]
    out, grids = {'n': a.n, 'draws': a.draws, 'floor': fd.floor(a.n)}, {}
    def fds(key, make):
        "FD of `make(k)` for each draw k, recorded with its timing"
        t0, v = time.time(), []
        for k in range(a.draws):
            xs = make(k); v.append(float(fd(xs)))
            if k == 0: grids[key] = xs[:36]
        out[key] = {'fd': v, 'median': sorted(v)[len(v)//2], 'seconds': time.time() - t0}
        print(key, [round(f, 1) for f in v], flush=True)

    dsb.fit(1)                                                         # iteration 1: backward, then forward half
    out['train_s_it1'] = sum(h['train_s'] for h in dsb.history if h['ipf'] == 0)
    gen1 = [dsb.sample(a.n) for _ in range(a.draws)]
    fds('it1_from_prior', lambda k: gen1[k])
    push_real = [dsb.sample(direction='forward', x=s) for s in starts]
    push_gen = [dsb.sample(direction='forward', x=g) for g in gen1]
    out['prior_gap'] = {'real_pushed_forward': [prior_gap(z) for z in push_real],
                        'generated_pushed_forward': [prior_gap(z) for z in push_gen],
                        'exact_prior_samples': [prior_gap(z) for z in exact],
                        'real_pushed_forward_std': [float(z.std()) for z in push_real]}
    print('prior gap', {k: [round(v, 1) for v in vs] for k, vs in out['prior_gap'].items()}, flush=True)

    r = dsb.train_half('backward')                                    # iteration 2's backward half, on forward pairs
    out['train_s_it2'] = r['train_s']
    fds('it2_from_prior', lambda k: dsb.sample(x=exact[k]))
    back = [dsb.sample(x=z) for z in push_real]
    fds('it2_from_push_forward', lambda k: back[k])
    mse = lambda u, v: float(((u - v)**2).mean())
    out['round_trip_mse'] = [mse(b.clamp(-1, 1), s) for b, s in zip(back, starts)]
    out['unrelated_mse'] = [mse(starts[k], starts[(k + 1) % a.draws]) for k in range(a.draws)]
    print('round trip', out['round_trip_mse'], 'unrelated', out['unrelated_mse'], flush=True)

    res = results('mnist_probe', dict(cfg.__dict__), [], machine('cpu'), **out, classifier_test_acc=acc,
                  n_params_per_net=n_params(dsb.net_b), wall_s=time.time() - t_start,
                  question="does iteration 2's backward net score worse from N(0, I) than from the forward push-forward "
                           "it was trained on?")
    dest = Path(a.out) if a.out else root/'bench'/'results'
    dest.mkdir(parents=True, exist_ok=True)
    write_results(dest/'mnist_probe.json', res)
    save_grids(grids, dest/'mnist_probe_grids.npz')
    plot(res, grids, dest/'mnist_probe.png')

def plot(res, grids, png):
    "Three sample grids and the FD of each (median over draws, with the range) against the floor"
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    keys = [('it1_from_prior', 'iteration 1, from N(0, I)'), ('it2_from_prior', 'iteration 2, from N(0, I)'),
            ('it2_from_push_forward', 'iteration 2, from F(real images)')]
    fig, axs = plt.subplots(1, 4, figsize=(12, 3.5))
    for ax, (k, t) in zip(axs, keys):
        show_images(grids[k], nrow=6, ax=ax, title=f"{t}\nFD {res[k]['median']:.1f}")
    ax = axs[-1]
    for i, (k, t) in enumerate(keys):
        v = res[k]['fd']
        ax.errorbar([i], [res[k]['median']], yerr=[[res[k]['median'] - min(v)], [max(v) - res[k]['median']]], fmt='o', capsize=4)
    ax.axhline(res['floor'], ls=':', c='k', label=f"floor ({res['n']} real images)")
    ax.set_xticks(range(3), ['it. 1\nprior', 'it. 2\nprior', 'it. 2\npush-fwd'], fontsize=8)
    ax.set_ylabel('Fréchet distance'); ax.legend(fontsize=7)
    ax.set_title(f"median and range of {res['draws']} draws", fontsize=8)
    fig.tight_layout(); fig.savefig(png, dpi=100); plt.close(fig)
    publish_fig(png)

if __name__ == '__main__': main()
