#!/usr/bin/env python
"""MNIST generation with DSB (notebook 11): Fréchet distance per IPF iteration vs the floor, timings, and training-step
speed in float32 / bf16 autocast / bf16 + torch.compile measured in the same run.

    python bench/mnist.py                      # the GPU run: MnistConfig() defaults (N=30, 'mnist' U-net, 5 x 2 x 5000 steps)
    python bench/mnist.py --cpu-reduced        # what fits on a small CPU: labelled cpu_reduced in the JSON
    python bench/mnist.py --iters 3 --steps 2000 --no-compile-speed
    python bench/mnist.py --speed-steps 0 --time-limit 7   # about 7 minutes of training; rerun to continue

Writes bench/results/mnist.json and bench/results/mnist.png (or --out NAME), and copies the PNG to
nbs/figs/bench_mnist.png for notebook 11. Scores with the MNIST classifier shipped in the package. Checkpoints go to --ckpt (default
checkpoints/bench_mnist); rerunning the same command resumes after an interruption. Needs MNIST: ../shared/data,
$DSB_NB_DATA, or --download.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from dsb_nb.mnist import MnistConfig, mnist_classifier, MnistFD, mnist_dsb, run_images, plot_iterations
from dsb_nb.metrics import load_mnist, mnist_data_root
from dsb_nb.score_matching import n_params
from dsb_nb.setup import bf16_native

from _common import publish_fig

def speed(cfg, x, device, steps, modes):
    "Training steps per second of the backward half in each mode, excluding the (separately timed) cache build"
    out = {}
    for mode in modes:
        c = MnistConfig(**{**cfg.__dict__, 'amp': 'bf16' in mode, 'compile': 'compile' in mode, 'cache_every': 10**9,
                           'n_cache': min(cfg.n_cache, 1000)})
        dsb = mnist_dsb(c, x, device=device, progress=False)
        dsb.n_steps = 5; dsb._train_half('backward')                        # warm-up: compilation, autotuning
        dsb.n_steps = steps; r = dsb._train_half('backward')
        sps = steps/(r['train_s'] - r['cache_s'])
        out[mode] = {'steps_per_s': sps, 'images_per_s_train': c.bs*sps, 'cache_s': r['cache_s']}
    base = out[modes[0]]['steps_per_s']
    for m in modes: out[m]['ratio_vs_fp32'] = out[m]['steps_per_s']/base
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, help='IPF iterations (default: config)')
    p.add_argument('--steps', type=int, help='gradient steps per half-iteration (default: config)')
    p.add_argument('--n-eval', type=int, help='images sampled and scored per iteration (default: config)')
    p.add_argument('--cpu-reduced', action='store_true', help='a configuration that fits a small CPU (results labelled so)')
    p.add_argument('--no-amp', action='store_true', help='train in float32')
    p.add_argument('--compile', action='store_true', help='train through torch.compile')
    p.add_argument('--speed-steps', type=int, default=200, help='steps per mode in the speed comparison (0: skip it)')
    p.add_argument('--no-compile-speed', action='store_true', help='leave bf16+compile out of the speed comparison')
    p.add_argument('--speed-only', action='store_true', help="only (re)measure the speed comparison; updates 'speed' in an existing JSON")
    p.add_argument('--ckpt', default=str(root/'checkpoints'/'bench_mnist'), help='checkpoint directory (resumable)')
    p.add_argument('--out', default='mnist', help='results name under bench/results/')
    p.add_argument('--download', action='store_true', help='download MNIST with torchvision if not found')
    p.add_argument('--time-limit', type=float, help='minutes: stop at the next restart point after this long (rerun to continue)')
    p.add_argument('--device', default=None)
    a = p.parse_args()
    device = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cpu': torch.set_num_threads(os.cpu_count())
    if mnist_data_root() is None and a.download: load_mnist(True, download=True); load_mnist(False, download=True)
    cfg = (MnistConfig(N=30, preset='tiny', unet_kw={'ch': 16}, n_ipf=5, n_steps=400, bs=64, lr=5e-4, ema_decay=0.99,
                       n_cache=256, cache_every=400, n_eval=1000, eval_bs=500, amp=False) if a.cpu_reduced
           else MnistConfig(amp=bf16_native(device)))          # bf16 only where the GPU has it (compute capability >= 8)
    for k, v in [('n_ipf', a.iters), ('n_steps', a.steps), ('n_eval', a.n_eval)]:
        if v is not None: setattr(cfg, k, v)
    if a.no_amp: cfg.amp = False
    if a.compile: cfg.compile = True
    t_start = time.time()
    clf, acc = mnist_classifier(device=device)                 # the weights shipped with dsb_nb: the same metric everywhere
    fd = MnistFD(clf)
    x = load_mnist(True)[0]
    info = {'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else f'CPU ({os.cpu_count()} cores)',
            'cpu_reduced': a.cpu_reduced, 'torch': torch.__version__, 'python': platform.python_version(),
            'platform': platform.platform(), 'n_train_images': len(x), 'classifier_test_acc': acc,
            'config': {k: v for k, v in cfg.__dict__.items()}}
    if a.speed_steps:
        modes = ['fp32'] + (['bf16'] if device.type == 'cuda' or a.cpu_reduced else [])
        if device.type == 'cuda' and not a.no_compile_speed: modes.append('bf16+compile')
        info['speed'] = speed(cfg, x, device, a.speed_steps, modes)
        print('speed', json.dumps(info['speed'], indent=1), flush=True)
    if a.speed_only:
        f = root/'bench'/'results'/f'{a.out}.json'
        res = json.loads(f.read_text()) if f.exists() else info
        res['speed'] = info.get('speed'); f.write_text(json.dumps(res, indent=1)); print(f'updated {f}'); return
    dsb = mnist_dsb(cfg, x, device=device, ckpt_dir=a.ckpt, progress=sys.stderr.isatty())
    info['n_params_per_net'] = n_params(dsb.net_b)
    rows, grids = run_images(dsb, cfg.n_ipf, fd, n_eval=cfg.n_eval, eval_bs=cfg.eval_bs,
                             time_limit=None if a.time_limit is None else 60*a.time_limit)
    for r in rows: print({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}, flush=True)
    complete = len(rows) == cfg.n_ipf
    if not complete:
        print(f'time limit: {len(rows)} of {cfg.n_ipf} IPF iterations evaluated, the trainer is at iteration {dsb.n + 1} '
              f'({dsb.half} half); rerun the same command to continue', flush=True)
        if not rows: return
    out = root/'bench'/'results'; out.mkdir(parents=True, exist_ok=True)
    prev = json.loads((out/f'{a.out}.json').read_text()) if (out/f'{a.out}.json').exists() else {}
    if 'speed' not in info and prev.get('device') == info['device'] and 'speed' in prev: info['speed'] = prev['speed']
    info.update({'rows': rows, 'complete': complete, 'wall_s_this_call': time.time() - t_start,
                 'train_s_total': sum(r['train_s'] for r in rows), 'sample_s_total': sum(r['sample_s'] for r in rows),
                 'fd_ratio_last_to_floor': rows[-1]['fd']/rows[-1]['floor'],
                 'fd_falls_1_to_last': rows[-1]['fd'] < rows[0]['fd']})
    (out/f'{a.out}.json').write_text(json.dumps(info, indent=1))
    title = (f"DSB on MNIST, {info['device']}{' (CPU-reduced)' if a.cpu_reduced else ''}{'' if complete else ' (unfinished)'}: N={cfg.N}, T={cfg.T}, "
             f"U-net {info['n_params_per_net']/1e6:.2f}M, {cfg.n_steps} steps/half, FD at {cfg.n_eval} images")
    plot_iterations(rows, grids, title=title).savefig(out/f'{a.out}.png', dpi=110)
    fig = publish_fig(out/f'{a.out}.png')
    print(f"wrote {out/a.out}.json/.png and {fig.relative_to(root)} ({info['wall_s_this_call']:.0f}s in this call)", flush=True)

if __name__ == '__main__': main()
