#!/usr/bin/env python
"""What one IPF iteration of the image chapters' GPU configurations should cost on common GPUs: an estimate from
counted FLOPs, made on the CPU, until bench/gpu.py measures it on a device (issue 23, item 5).

    python bench/gpu_estimate.py          # writes bench/results/gpu_estimate.json and prints a markdown table

For each configuration that notebooks 11-13 run on a GPU (`MnistConfig()`, `TransferConfig()`, `CelebaConfig()`, the
`for_device()` defaults there), torch's FlopCounterMode counts the floating-point operations of one forward pass of
its U-net per image, and of one training step (forward + backward) per image. One IPF iteration after the first then
costs, in network evaluations:

* training: 2 halves x n_steps steps x bs images, at the training-step count;
* trajectory caches: 2 halves x (n_steps / cache_every) refreshes x n_cache chains x N steps, at the forward count
  (iteration 1 skips the chain in its first half; this counts the later iterations);
* scoring: n_eval sampled images x N steps, at the forward count.

Seconds = FLOPs / (peak x utilisation), for the dense peak of each GPU in the precision the library trains in there
(`bf16_native`: bf16 autocast where the GPU has it natively, float32 elsewhere, so a T4 trains in float32) and two
utilisations, 20% and 50% of peak, which bracket what small convolutional networks usually sustain. This is not a
measurement: the day a device is lent, `python bench/gpu.py` measures steps per second and replaces it.
"""
import sys
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from dsb_nb.mnist import MnistConfig
from dsb_nb.transfer import TransferConfig
from dsb_nb.celeba import CelebaConfig
from dsb_nb.unet import UNet
from dsb_nb.score_matching import n_params

from _common import machine, results, write_results

# dense peak TFLOP/s in the precision dsb_nb trains in on each (vendor data sheets; T4 has no bf16, so float32)
GPUS = {'T4 (Colab free; float32)': 8.1, 'L4 (bf16)': 121., 'A100 (bf16)': 312., 'H100 / H200 (bf16)': 989.}
UTIL = (0.2, 0.5)
CONFIGS = {'MnistConfig() (notebook 11)': (MnistConfig(), 1, 28), 'TransferConfig() (notebook 12)': (TransferConfig(), 1, 28),
           'CelebaConfig() (notebook 13)': (CelebaConfig(), 3, 32)}

def flops(cfg, ch:int, size:int, n:int=8)->dict:
    "FLOPs per image of one forward pass and of one training step (forward + backward) of the configuration's U-net"
    from torch.utils.flop_counter import FlopCounterMode
    torch.manual_seed(0)
    net = UNet.preset(cfg.preset, ch, size=size, **cfg.unet_kw)
    x, k = torch.randn(n, ch, size, size), torch.randint(1, cfg.N + 1, (n,))
    with FlopCounterMode(display=False) as fc: net(x, k)
    fwd = fc.get_total_flops()/n
    with FlopCounterMode(display=False) as fc: net(x, k).pow(2).mean().backward()
    return dict(params=n_params(net), fwd=fwd, step=fc.get_total_flops()/n)

def per_iteration(cfg, f:dict)->dict:
    "FLOPs of one IPF iteration (after the first), by part"
    train = 2*cfg.n_steps*cfg.bs*f['step']
    cache = 2*(-(-cfg.n_steps//cfg.cache_every))*cfg.n_cache*cfg.N*f['fwd']      # refreshes at steps 0, cache_every, ...
    score = cfg.n_eval*cfg.N*f['fwd']
    return dict(train=train, cache=cache, score=score, total=train + cache + score)

def main():
    torch.set_num_threads(1)
    rows = []
    for name, (cfg, ch, size) in CONFIGS.items():
        f = flops(cfg, ch, size); it = per_iteration(cfg, f)
        est = {g: {f'{int(100*u)}%': it['total']/(peak*1e12*u) for u in UTIL} for g, peak in GPUS.items()}
        rows.append(dict(config=name, preset=cfg.preset, N=cfg.N, n_steps=cfg.n_steps, bs=cfg.bs, n_cache=cfg.n_cache,
                         cache_every=cfg.cache_every, n_eval=cfg.n_eval, n_ipf=cfg.n_ipf, **f,
                         flops_per_iteration=it, seconds_per_iteration=est))
    res = results('gpu_estimate', dict(utilisations=list(UTIL), peaks_tflops=GPUS), rows, machine('cpu', 1),
                  cpu_reduced=False, estimate=True,
                  note='counted FLOPs / (dense peak x utilisation); not a measurement (bench/gpu.py measures)')
    write_results(root/"bench"/"results"/"gpu_estimate.json", res)
    print(table(rows))

def table(rows:list)->str:
    "Markdown: per configuration, its U-net, FLOPs, and minutes per IPF iteration on each GPU (50% to 20% of peak)"
    m = lambda s: f'{s/60:.1f}' if s < 600 else f'{s/60:.0f}'
    out = ['| configuration | U-net | GFLOP per training image | PFLOP per iteration | '
           + ' | '.join(f'{g}: min per iteration' for g in GPUS) + ' |', '|---|---|---|---|' + '---|'*len(GPUS)]
    for r in rows:
        mins = [f"{m(v['50%'])}-{m(v['20%'])}" for v in r['seconds_per_iteration'].values()]
        out.append(f"| {r['config']}, {r['n_ipf']} iterations | {r['preset']} ({r['params']/1e6:.1f}M) | {r['step']/1e9:.1f} | "
                   f"{r['flops_per_iteration']['total']/1e15:.1f} | " + ' | '.join(mins) + ' |')
    return '\n'.join(out)

if __name__ == '__main__': main()
