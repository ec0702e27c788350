#!/usr/bin/env python
"""MNIST generation with DSB (notebook 11): Fréchet distance per IPF iteration vs the floor, timings, and training-step
speed in float32 / bf16 autocast / bf16 + torch.compile measured in the same run.

    python bench/mnist.py                      # the GPU run: MnistConfig() defaults (N=30, 'mnist' U-net, 5 x 2 x 5000 steps)
    python bench/mnist.py --cpu-reduced        # what fits on a small CPU: labelled cpu_reduced in the JSON
    python bench/mnist.py --iters 3 --steps 2000 --no-compile-speed
    python bench/mnist.py --speed-steps 0 --time-limit 7   # about 7 minutes of training; rerun to continue
    python bench/mnist.py --cpu-hour --threads 1 &              # one CPU hour, steps sized from a first speed measurement
    python bench/mnist.py --cpu-hour --sgm-only --threads 1     # ... side by side: iteration 1 only, for the same time

    python bench/mnist.py --cpu-hour --sgm-only --reference ou --budget 30 --threads 1   # SGM with an OU reference that ends at the prior
    python bench/mnist.py --cpu-hour --reference ou --iters 2 --last-backward-only --threads 1
    python bench/mnist.py --cpu-hour --solver dsbm-imf --iters 2 --last-backward-only --threads 2 --tag 2threads   # alone, both cores
    python bench/mnist.py --cpu-hour --solver dsbm-imf --sgm-only --ch 32 --budget 30 --threads 2 --tag ch32   # 701k-parameter U-net
    python bench/mnist.py --cpu-hour --solver dsbm-imf --iters 2 --last-backward-only --threads 2 --ch 32 --tag ch32_hour
    python bench/mnist.py --cpu-hour --solver dsbm-imf --sgm-only --ch 48 --budget 30 --threads 2 --tag ch48   # 1.57M parameters
    python bench/mnist.py --cpu-hour --solver dsbm-imf --sgm-only --ch 32 --N 60 --budget 30 --threads 2 --tag ch32_N60
    python bench/mnist.py --cpu-hour --solver dsbm-imf --iters 2 --last-backward-only --ch 32 --N 60 --half-weights 8 3 4 --threads 2 --tag ch32_N60_w834

--half-weights W1 W2 ...: the same total of steps, shared among the trained halves (in training order) in these
proportions, e.g. a long first backward half, a shorter forward half and a shorter second backward half.
--tag NAME keeps a run beside the others (part 'dsbm_imf_NAME'); --ch sets the U-net's base channels, --N the chain's
steps; with --solver dsbm-imf, --sgm-only trains iteration 1's backward half alone (bridge matching on the independent
coupling; part 'dsbm_imf_it1...').
Each part also writes its sample grid per iteration (mnist_cpu_hour_PART.png, and the 8-bit grids in ..._grids.npz).

--reference ou: the Ornstein-Uhlenbeck reference f(x) = -x with T = --T (default 3), which ends within e^-T of the prior
N(0, I), so that iteration 1 is a proper SGM; the part is then named e.g. 'sgm_ou'. --last-backward-only: the last IPF
iteration trains only its backward half (generation samples the backward chain; the forward half would be unused).

--cpu-hour: the configuration CPU_HOUR below, with the steps per half chosen at the start from measured training steps/s
and sampling images/s so that training + sampling + scoring fit --budget minutes of wall time. --sgm-only trains only
iteration 1's backward half (plain SGM) for the same budget. Each writes bench/results/mnist_cpu_hour_{dsb,sgm}.json;
whatever parts exist are merged into mnist.json['cpu_hour'] and drawn in mnist_cpu_hour.png (copied to nbs/figs).

Writes bench/results/mnist.json and bench/results/mnist.png (or --out NAME), and copies the PNG to
nbs/figs/bench_mnist.png for notebook 11. Scores with the MNIST classifier shipped in the package. Checkpoints go to --ckpt (default
checkpoints/bench_mnist); rerunning the same command resumes after an interruption. Needs MNIST: ../shared/data,
$DSB_NB_DATA, or --download.
"""
import argparse, json, os, statistics, sys, time
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from dsb_nb.mnist import MnistConfig, mnist_classifier, MnistFD, mnist_dsb, run_images, plot_iterations
from dsb_nb.metrics import load_mnist, mnist_data_root
from dsb_nb.score_matching import n_params
from dsb_nb.setup import bf16_native

from _common import machine, publish_fig, use_local_data, results, read_results, write_results

def speed(cfg, x, device, steps, modes, solver=None):
    "Training steps per second of the backward half in each mode, excluding the (separately timed) cache build"
    out, skw = {}, solver_kw(solver)
    for mode in modes:
        c = MnistConfig(**{**cfg.__dict__, 'amp': 'bf16' in mode, 'compile': 'compile' in mode, 'cache_every': 10**9,
                           'n_cache': min(cfg.n_cache, 1000)})
        dsb = mnist_dsb(c, x, device=device, progress=False, **skw)
        dsb.train_half('backward', n_steps=5)                               # warm-up: compilation, autotuning
        r = dsb.train_half('backward', n_steps=steps)
        sps = steps/(r['train_s'] - r['cache_s'])
        out[mode] = {'steps_per_s': sps, 'images_per_s_train': c.bs*sps, 'cache_s': r['cache_s']}
    base = out[modes[0]]['steps_per_s']
    for m in modes: out[m]['ratio_vs_fp32'] = out[m]['steps_per_s']/base
    return out

# the one-CPU-hour configuration: the 'tiny' U-net at 16 channels (177k parameters; 4.6 steps/s at batch 64 on 2 cores in
# fp32, 6.2 in bf16, mnist.json 'speed'), N = 30, lr 1e-3 with the cosine decay within each half, a short EMA for short
# halves, and a cache small enough to cost ~10% of training. n_steps is a placeholder: `cpu_hour` sizes it from measured speeds.
CPU_HOUR = dict(N=30, T=1., preset='tiny', unet_kw={'ch': 16}, n_ipf=3, n_steps=1000, bs=64, lr=1e-3, ema_decay=0.995,
                n_cache=640, cache_every=1000, n_eval=1000, eval_bs=500, ckpt_every=None)

def solver_kw(solver):
    "mnist_dsb arguments of a --solver: 'dsb' (the paper), 'dsbm' (DSBM-IPF) or 'dsbm-imf' (DSBM from the independent coupling)"
    from dsb_nb.dsbm import DSBM
    return {None: {}, 'dsb': {}, 'dsbm': dict(cls=DSBM, coupling='reference'), 'dsbm-imf': dict(cls=DSBM, coupling='independent')}[solver]

def _size_steps(cfg, x, device, fd, budget_s, spent_s, halves, n_evals, solver=None):
    "Steps per half so that `halves` halves + `n_evals` evaluations fit `budget_s` (95% of it), from measured speeds"
    sps = speed(cfg, x, device, 30, ['bf16' if cfg.amp else 'fp32'], solver)['bf16' if cfg.amp else 'fp32']['steps_per_s']
    dsb = mnist_dsb(cfg, x, device=device, progress=False, **solver_kw(solver))
    t0 = time.time(); dsb.sample(100); ips = 100/(time.time() - t0)                # full N-step chains, images/s
    t0 = time.time(); fd(dsb.sample(200)); score_s = (time.time() - t0) - 200/ips      # scoring cost beyond sampling
    eval_s = cfg.n_eval/ips + cfg.n_eval/200*max(score_s, 0.)                       # scoring scaled from 200 images to n_eval
    per_step = 1/sps + cfg.n_cache/(ips*cfg.cache_every)                            # a step plus its share of the cache
    left = 0.95*budget_s - (time.time() - spent_s) - n_evals*eval_s - halves*100/ips   # + each half's 100-chain diagnostics
    steps = int(left/(halves*per_step))//50*50                                    # all the budget (a multiple of 50 steps)
    if steps < 100: raise SystemExit(f'--budget too small: {left:.0f}s left for {halves} halves at {sps:.2f} steps/s')
    return steps, {'steps_per_s': sps, 'images_per_s': ips, 'eval_s_est': eval_s, 'per_step_s_est': per_step}

def cpu_hour(a, device):
    "One CPU hour of MNIST: DSB (CPU_HOUR, 3 IPF iterations) or, with --sgm-only, iteration 1's backward half alone"
    t_start = time.time()
    ou = a.reference == 'ou'
    cfg = MnistConfig(**{**CPU_HOUR, 'amp': not a.no_amp and device.type == 'cpu' and 'bf16' in _cpu_flags(),
                         **({'T': a.T, 'alpha': 1.} if ou else {})})
    if a.iters: cfg.n_ipf = a.iters
    clf, acc = mnist_classifier(device=device); fd = MnistFD(clf)
    x = load_mnist(True)[0]
    if a.ch: cfg.unet_kw = {**cfg.unet_kw, 'ch': a.ch}
    if a.N: cfg.N = a.N
    solver = 'dsb' if a.solver == 'dsb' else a.solver.replace('-', '_')
    # --sgm-only: iteration 1's backward half alone (with DSB plain SGM; with DSBM bridge matching on its first coupling)
    part = ('sgm' if a.sgm_only and a.solver == 'dsb' else solver + ('_it1' if a.sgm_only else ''))
    part += ('_ou' if ou else '') + (f'_{a.tag}' if a.tag else '')
    last_b = a.last_backward_only and not a.sgm_only
    halves, n_evals = (1, 1) if a.sgm_only else (2*cfg.n_ipf - last_b, cfg.n_ipf)
    if a.analytic_forward:          # two backward halves: iteration 2's forward map is read off iteration 1's net
        if a.solver != 'dsbm-imf' or a.sgm_only or cfg.n_ipf != 2:
            raise SystemExit('--analytic-forward: --solver dsbm-imf with --iters 2 (and not --sgm-only)')
        halves, n_evals, last_b = 2, 2, True
    if a.half_weights and len(a.half_weights) != halves:
        raise SystemExit(f'--half-weights: one weight per trained half ({halves} here), got {len(a.half_weights)}')
    cfg.n_steps, measured = _size_steps(cfg, x, device, fd, 60*a.budget, t_start, halves, n_evals, a.solver)
    # --half-weights: the same total of steps, shared out in proportion (multiples of 50); else n_steps in every half
    w = a.half_weights or [1.]*halves
    half_steps = [max(50, round(halves*cfg.n_steps*v/sum(w)/50)*50) for v in w]
    print(part, 'steps per half', half_steps, measured, flush=True)
    # n_eval = 100: the per-half diagnostics sample n_eval chains after every half; 1,000 would cost minutes each
    # --analytic-forward: DSBM(first_forward='analytic') reads iteration 1's forward map off its backward net (notebook 16)
    dsb = mnist_dsb(cfg, x, device=device, progress=sys.stderr.isatty(), n_eval=100, seed=a.seed, **solver_kw(a.solver),
                    **({'first_forward': 'analytic'} if a.analytic_forward else {}))
    done, train_half = [], dsb.train_half
    def scheduled_half(direction, n_steps=None, deadline=None):
        "the trainer's own half, with the number of steps that this half has in `half_steps` (a closed-form half has none)"
        k = half_steps[len(done)] if len(done) < len(half_steps) else None
        r = train_half(direction, n_steps=k, deadline=deadline)
        if not (r or {}).get('closed_form'): done.append((direction, k))
        return r
    dsb.train_half = scheduled_half                    # fit() calls self.train_half: every half goes through it
    rows, grids = [], {}
    def evaluate(n, train_s):
        t0 = time.time(); xs = torch.cat([dsb.sample(cfg.eval_bs) for _ in range(cfg.n_eval//cfg.eval_bs)]); sample_s = time.time() - t0
        rows.append({'ipf': n, 'train_s': train_s, 'sample_s': sample_s, 'fd': float(fd(xs)), 'floor': float(fd.floor(cfg.n_eval)),
                     'backward_steps': sum(k for d, k in done if d == 'backward'),
                     'wall_s': time.time() - t_start}); grids[n] = xs[:36].cpu()
        print(part, {k: round(v, 2) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
    if a.sgm_only:
        r = dsb.train_half('backward'); evaluate(1, r['train_s'])                 # iteration 1's backward half is SGM
    else:
        for n in range(1, cfg.n_ipf + 1):
            if last_b and n == cfg.n_ipf:                # generation needs only the last backward network
                evaluate(n, dsb.train_half('backward')['train_s'])
            else:
                dsb.fit(n); evaluate(n, sum(h['train_s'] for h in dsb.history if h['ipf'] == n - 1))
    res = results('mnist', dict(cfg.__dict__), rows, machine(str(device)), part=part, solver=a.solver,
                  measured_at_start=measured, n_params_per_net=n_params(dsb.net_b),
                  reference=f'OU f(x) = -x, T = {cfg.T:g}' if ou else f'Brownian, T = {cfg.T:g}', last_backward_only=last_b,
                  analytic_forward=a.analytic_forward, seed=a.seed,
                  gradient_steps=sum(half_steps), half_steps=half_steps, budget_min=a.budget, wall_s=time.time() - t_start,
                  fd_over_floor=rows[-1]['fd']/rows[-1]['floor'], classifier_test_acc=acc)
    out = root/'bench'/'results'
    write_results(out/f'mnist_cpu_hour_{part}.json', res); save_grids(grids, out/f'mnist_cpu_hour_{part}_grids.npz')
    merge_cpu_hour()

def save_grids(grids:dict, path:Path):
    "Each iteration's sample grid as 8-bit images in one small .npz (committed, unlike .pt files): {ipf: (n, 1, 28, 28)}"
    import numpy as np
    to8 = lambda g: ((g.clamp(-1, 1) + 1)*127.5).round().to(torch.uint8).numpy()
    np.savez_compressed(path, **{str(n): to8(g) for n, g in grids.items()})

def load_grids(path:Path)->dict:
    "The grids of `save_grids`, back in [-1, 1]"
    import numpy as np
    with np.load(path) as z: return {int(n): torch.from_numpy(z[n]).float()/127.5 - 1 for n in z.files}

def _cpu_flags():
    try: return Path('/proc/cpuinfo').read_text().split('flags')[1].split('\n')[0]
    except (OSError, IndexError): return ''

def merge_cpu_hour():
    "Gather the --cpu-hour parts into mnist.json['cpu_hour'] and draw mnist_cpu_hour.png"
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    from dsb_nb.mnist import show_images
    out = root/'bench'/'results'
    order = ('dsb', 'sgm', 'dsbm_imf', 'sgm_ou', 'dsb_ou', 'dsbm_imf_ou')
    found = sorted(f.stem.removeprefix('mnist_cpu_hour_') for f in out.glob('mnist_cpu_hour_*.json'))  # tagged ones too
    parts = {p: read_results(out/f'mnist_cpu_hour_{p}.json')
             for p in [*(p for p in order if p in found), *(p for p in found if p not in order)]}
    if not parts: return
    f = out/'mnist.json'
    res = read_results(f) if f.exists() else results('mnist', {}, [], next(iter(parts.values()))['machine'])
    target = 5.
    res['cpu_hour'] = {'target': f'FD <= {target:g} x floor at 1,000 images within 60 min wall on the 2-core CPU, falling over IPF iterations',
                       **{('sgm_only' if p == 'sgm' else p): v for p, v in parts.items()}}
    base = {'dsb': 'DSB', 'dsbm_imf': 'DSBM-IMF', 'sgm': 'SGM only', 'sgm_ou': 'SGM, OU', 'dsb_ou': 'DSB, OU',
            'dsbm_imf_ou': 'DSBM-IMF, OU', 'dsbm_imf_it1': 'DSBM-IMF it. 1 backward only'}
    def label(p):
        "a part's name in the figure: its solver (and reference), then its --tag"
        b = max((k for k in base if p == k or p.startswith(k + '_')), key=len, default=p)
        return base.get(b, b) + (f" ({p[len(b) + 1:].replace('_', ' ')})" if p != b else '')
    name = {p: label(p) for p in parts}
    for p in parts:                       # a full run meets the target if its last FD is <= 5x floor, in time, and fell
        if p.startswith('sgm') or '_it1' in p: continue         # one backward half: nothing to fall over iterations
        d = parts[p]
        res['cpu_hour'][f'meets_target_{p}'] = bool(d['fd_over_floor'] <= target and d['wall_s'] <= 3600 and
                                                    len(d['rows']) > 1 and d['rows'][-1]['fd'] < d['rows'][0]['fd'])
    res['cpu_hour']['meets_target'] = any(v for k, v in res['cpu_hour'].items() if k.startswith('meets_target_'))
    if (probe := out/'mnist_probe.json').exists(): res['cpu_hour']['what_limits'] = probe_account(read_results(probe))
    # what the IPF iterations after the first did in each run, from the rows themselves (the reading's evidence)
    res['cpu_hour']['iterations_after_first'] = {
        p: {'fd': [round(r['fd'], 2) for r in d['rows']], 'fell': d['rows'][-1]['fd'] < d['rows'][0]['fd'],
            'backward_steps': [backward_steps(r, d) for r in d['rows']],
            'half_steps': d.get('half_steps', [d['settings']['n_steps']]*(2*len(d['rows']) - d.get('last_backward_only', False))),
            'u_net_params': d.get('n_params_per_net'), 'N': d['settings']['N'], 'cpu_model': d['machine'].get('cpu_model')}
        for p, d in parts.items() if len(d['rows']) > 1}
    write_results(f, res)
    npz = {p: out/f'mnist_cpu_hour_{p}_grids.npz' for p in parts}
    grids = {p: load_grids(f) for p, f in npz.items() if f.exists()}
    for p, g in grids.items():          # each run's grid per iteration, as a PNG for notebook 11
        v = parts[p]; s = v['settings']
        its = len(v['rows'])
        per = ('/'.join(map(str, v['half_steps'])) if len(set(v.get('half_steps', [0]))) > 1 else s['n_steps'])
        title = (f"{name[p]}:\n{v['gradient_steps']} steps in {its} iteration{'s'*(its > 1)} ({per} per half), "
                 f"{v['machine'].get('torch_threads', '?')} threads, {v['wall_s']/60:.0f} min all in")
        fig = plot_iterations(v['rows'], g, title=title, label=name[p])
        fig.set_size_inches(max(5.5, fig.get_size_inches()[0]), 3.0)
        fig.tight_layout(); fig.savefig(out/f'mnist_cpu_hour_{p}.png', dpi=100); plt.close(fig)
        publish_fig(out/f'mnist_cpu_hour_{p}.png')
    panels = [(f"{name[p]} IPF {r['ipf']}\nFD {r['fd']:.1f} ({r['fd']/r['floor']:.1f}x floor)", grids[p][r['ipf']])
              for p in parts if p in grids for r in parts[p]['rows'][-1:]]       # each run's last iteration
    # two rows: each run's last grid on top; below, the distance against wall time and against steps, legend at the right
    n = max(len(panels), 1)
    fig = plt.figure(figsize=(max(9., 2.0*n), 6.6))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.25])
    gax = top.subplots(1, n, squeeze=False)[0]
    for ax, (title, g) in zip(gax, panels): show_images(g, nrow=6, ax=ax, title=title.replace(' IPF', '\nIPF').replace(' (', '\n(', 1))
    for ax in gax[len(panels):]: ax.axis('off')
    top.subplots_adjust(top=0.8, bottom=0.02)
    for t in (t for ax in gax for t in [ax.title]): t.set_fontsize(7)
    axs = bottom.subplots(1, 2)
    fl = next(iter(parts.values()))['rows'][-1]['floor']
    # wall time depends on the machine and its load (each part records both); backward steps do not
    for ax, xlabel in zip(axs, ('wall time (min)', 'steps of the backward (generative) net')):
        for p, v in parts.items():
            xs = ([r['wall_s']/60 for r in v['rows']] if 'wall' in xlabel else
                  [backward_steps(r, v) for r in v['rows']])
            i = list(parts).index(p)                 # a colour and marker per run (more runs than tab10 has colours)
            ax.plot(xs, [r['fd'] for r in v['rows']], 'os^D'[i//10 % 4] + '-', c=plt.cm.tab10(i % 10), ms=5,
                    label=name[p] + (' (stopped)' if v.get('stopped') else ''))
        ax.axhline(fl, ls=':', c='k', label='floor'); ax.axhline(target*fl, ls='--', c='gray', label=f'{target:g}x floor')
        ax.set_xlabel(xlabel, fontsize=8); ax.set_ylabel('Fréchet distance', fontsize=8); ax.set_yscale('log')
    bottom.subplots_adjust(left=0.07, right=0.68, bottom=0.17, top=0.95, wspace=0.3)
    bottom.legend(*axs[-1].get_legend_handles_labels(), loc='center left', bbox_to_anchor=(0.69, 0.55), fontsize=7)
    fig.suptitle('MNIST, one CPU hour on 2 cores (the first runs side by side at 1 thread each, the tagged ones alone; '
                 'each JSON records its machine, threads and load)', fontsize=9)
    fig.savefig(out/'mnist_cpu_hour.png', dpi=90); plt.close(fig)
    publish_fig(out/'mnist_cpu_hour.png'); print('merged', list(parts), 'into', f, flush=True)

def backward_steps(row:dict, part:dict)->int:
    "Steps of the backward net up to a row: recorded by runs with --half-weights; else n_steps per iteration"
    return row.get('backward_steps', row['ipf']*part['settings']['n_steps'])

def probe_account(pr:dict)->dict:
    "The measured account of bench/mnist_probe.py, summarised for mnist.json['cpu_hour'] (medians over its draws)"
    med = statistics.median
    keys = ('it1_from_prior', 'it2_from_prior', 'it2_from_push_forward')
    return {'source': 'bench/results/mnist_probe.json (bench/mnist_probe.py; notebook 11, "What limits the hour")',
            'setting': f"{pr['settings']['n_steps']} steps per half, U-net {pr['settings']['unet_kw']}, "
                       f"{pr['draws']} draws of {pr['n']} images",
            'fd_median': {k: pr[k]['median'] for k in keys},
            'fd_draw_range': {k: max(pr[k]['fd']) - min(pr[k]['fd']) for k in keys},
            'prior_gap_median': {k: med(v) for k, v in pr['prior_gap'].items() if not k.endswith('_std')},
            'round_trip_mse_median': med(pr['round_trip_mse']), 'unrelated_mse_median': med(pr['unrelated_mse']),
            'reading': PROBE_READING}

# what the probe and the runs beside it say (notebook 11 has the numbers and the argument)
PROBE_READING = ("FD moves by about 1 between draws of 1,000 images, so the hour runs' differences are real. The forward "
                 "net's end matches N(0, I) in pixel mean and covariance (within about 2% of the estimator's floor), so "
                 "iteration 2's backward net is not trained on a grossly wrong prior end. Its chain keeps much of its start "
                 "(round trip MSE about half that of unrelated images): after iteration 1 the coupling is informative. "
                 "Iteration 2 lowered the FD where iteration 1 was short of training (1,300 and 2,000 steps per half of "
                 "the 177k net; 2,650 of the 701k net with N = 60, 47.5 -> 45.1) and raised it where iteration 1 was near "
                 "its plateau (5,950 steps of the 177k net, 3,250 of the 701k net; with N = 60, 3,350 steps: 42.7 -> 50.5). "
                 "See 'iterations_after_first' for every run. "
                 "Iteration 1's plateau near FD 44 is moved neither by more steps (3,250 / 4,150) nor by a wider U-net "
                 "(48 channels: 44.4), but a chain of N = 60 steps instead of 30 takes it to 39.0 (4.6x the floor) in 24 min. "
                 "So with a trained forward half one CPU hour gives a first iteration at or just above 5x, and no second "
                 "iteration has both lowered the FD and ended at or below 5x. Reading iteration 2's forward map off "
                 "iteration 1's backward net (--analytic-forward, notebook 16) frees the forward half's time: 47.3 -> "
                 "38.6 (4.6x) in 56 min, the target met.")

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
    p.add_argument('--cpu-hour', action='store_true', help='one CPU hour: CPU_HOUR configuration, steps sized to --budget')
    p.add_argument('--solver', default='dsb', choices=['dsb', 'dsbm', 'dsbm-imf'], help="--cpu-hour: the trainer (dsbm-imf: DSBM from the independent coupling)")
    p.add_argument('--reference', default='brownian', choices=['brownian', 'ou'], help='--cpu-hour: the reference of eq. (3)')
    p.add_argument('--T', type=float, default=3., help='--cpu-hour --reference ou: the horizon (sum of the step sizes)')
    p.add_argument('--last-backward-only', action='store_true', help="--cpu-hour: the last IPF iteration trains only its backward half")
    p.add_argument('--analytic-forward', action='store_true',
                   help="--cpu-hour --solver dsbm-imf --iters 2: DSBM(first_forward='analytic'), iteration 1's forward map "
                        "read off its backward net in closed form (notebook 16) instead of trained: two backward halves")
    p.add_argument('--sgm-only', action='store_true', help="with --cpu-hour: only iteration 1's backward half, for the same budget")
    p.add_argument('--N', type=int, default=None, help="--cpu-hour: steps of the chain (CPU_HOUR: 30)")
    p.add_argument('--ch', type=int, default=None, help="--cpu-hour: the U-net's base channels (CPU_HOUR: 16, 177k parameters)")
    p.add_argument('--seed', type=int, default=0, help="--cpu-hour: the trainer's seed (networks' initialisation, every random stream)")
    p.add_argument('--tag', default='',
                   help="--cpu-hour: a suffix for the part's name (e.g. '2threads'), so that runs are kept side by side")
    p.add_argument('--half-weights', type=float, nargs='+', default=None,
                   help='--cpu-hour: share the sized steps among the trained halves in these proportions (one per half)')
    p.add_argument('--budget', type=float, default=60., help='--cpu-hour: minutes of wall time for training + sampling + scoring')
    p.add_argument('--threads', type=int, default=None, help='CPU threads (default: all cores)')
    p.add_argument('--merge-cpu-hour', action='store_true', help='only redo the merge and plot of the --cpu-hour parts')
    a = p.parse_args(); use_local_data()
    if a.merge_cpu_hour: return merge_cpu_hour()
    device = torch.device(a.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cpu': torch.set_num_threads(a.threads or os.cpu_count())
    if mnist_data_root() is None and a.download: load_mnist(True, download=True); load_mnist(False, download=True)
    if a.cpu_hour: return cpu_hour(a, device)
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
    info = results('mnist', dict(cfg.__dict__), [], machine(str(device)), cpu_reduced=a.cpu_reduced,
                   n_train_images=len(x), classifier_test_acc=acc)
    if a.speed_steps:
        modes = ['fp32'] + (['bf16'] if device.type == 'cuda' or a.cpu_reduced else [])
        if device.type == 'cuda' and not a.no_compile_speed: modes.append('bf16+compile')
        info['speed'] = speed(cfg, x, device, a.speed_steps, modes)
        print('speed', json.dumps(info['speed'], indent=1), flush=True)
    if a.speed_only:
        f = root/'bench'/'results'/f'{a.out}.json'
        res = read_results(f) if f.exists() else info
        res['speed'] = info.get('speed'); write_results(f, res); print(f'updated {f}'); return
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
    prev = read_results(out/f'{a.out}.json') if (out/f'{a.out}.json').exists() else {}
    if 'speed' not in info and 'speed' in prev and prev['machine'].get('device') == info['machine']['device']:
        info['speed'] = prev['speed']
    info.update({'rows': rows, 'complete': complete, 'wall_s_this_call': time.time() - t_start,
                 'train_s_total': sum(r['train_s'] for r in rows), 'sample_s_total': sum(r['sample_s'] for r in rows),
                 'fd_ratio_last_to_floor': rows[-1]['fd']/rows[-1]['floor'],
                 'fd_falls_1_to_last': rows[-1]['fd'] < rows[0]['fd']})
    write_results(out/f'{a.out}.json', info)
    title = (f"DSB on MNIST, {info['machine']['device']}{' (CPU-reduced)' if a.cpu_reduced else ''}{'' if complete else ' (unfinished)'}: N={cfg.N}, T={cfg.T}, "
             f"U-net {info['n_params_per_net']/1e6:.2f}M, {cfg.n_steps} steps/half, FD at {cfg.n_eval} images")
    plot_iterations(rows, grids, title=title, label='DSB samples').savefig(out/f'{a.out}.png', dpi=110)
    fig = publish_fig(out/f'{a.out}.png')
    print(f"wrote {out/a.out}.json/.png and {fig.relative_to(root)} ({info['wall_s_this_call']:.0f}s in this call)", flush=True)

if __name__ == '__main__': main()
