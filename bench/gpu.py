#!/usr/bin/env python
"""The owed GPU work in one script: MNIST generation sized to a time budget, then the EMNIST -> MNIST transfer run.

    python bench/gpu.py                        # on a lent GPU: 12 minutes of wall time in all (two calls, see below)
    python bench/gpu.py --budget-min 9 --solver dsb
    python bench/gpu.py --dry-run              # the same code path on the CPU at toy size, ~1.5 min (CI runs this)
    python bench/gpu.py --dry-run --out /tmp/gpu_dry

Each step checks the time left:
1. records the machine (`_common.machine`);
2. measures, in at most the first minute, the training steps/s (bench/mnist.py's `speed`), the sampling images/s, the
   scoring and the checkpoint cost of the MNIST configuration (`MnistConfig()`, bf16 where the GPU has it);
3. sizes the MNIST run (IPF iterations, steps per half) to the budget left, less a reserve for the transfer run (a
   quarter of the budget: 3 minutes of 12), for writing the results and for restarting between calls;
4. trains it with checkpoints in checkpoints/gpu_mnist (with the default --solver dsbm-imf, iteration 1's forward map
   is read off its backward net, `DSBM(first_forward='analytic')`, as in the one-CPU-hour run of notebook 11), scoring after every IPF iteration the Fréchet distance of
   `n_eval` samples in the features of the classifier shipped in dsb_nb, next to the floor (as many real images);
5. runs the transfer (notebook 12) if its reserve is still there: EMNIST letters -> MNIST when EMNIST is on disk, else
   the chapter's offline stand-in, scikit-learn's 8x8 digits upsampled to 28x28 (`load_digits28`; without
   scikit-learn, a `digits28.pt` saved in the data folder), carried onto MNIST; otherwise it records why not;
6. writes gpu.json and gpu.png under bench/results (or --out), and prints one summary line, last.

A call stops by itself before --call-limit-min (default 9.5: the device tool ends a command at 10 minutes), at a
checkpoint, writes what it has (`complete: false`) and says to rerun the same command: the rerun reads the plan saved
in checkpoints/gpu_mnist, skips the measurement and continues within what is left of --budget-min (the wall time of
earlier calls counts). --fresh starts over. If not even one IPF iteration fits, the JSON says why and the script
exits 0; it exits 1 only on an error (after writing what it has).

--dry-run: CPU (1 thread unless --threads), `MnistConfig.tiny()`'s networks with 6-step chains, 256 training
images, 64 images scored, a 1.5-minute budget; results (and checkpoints) go to a new temporary folder or --out, never
to bench/results. Nothing is downloaded anywhere: MNIST must be on disk (../shared/data or $DSB_NB_DATA).
"""
import time
T0 = time.time()                                   # the budget counts from here, imports included
import argparse, json, math, shutil, sys, tempfile, traceback
from pathlib import Path
import torch

root = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(root), str(root/'bench')]
from mnist import speed, solver_kw                  # bench/mnist.py
from _common import machine, publish_fig, use_local_data, results, write_results
from dsb_nb.mnist import MnistConfig, MnistFD, image_dsb, mnist_dsb, shipped_classifier, show_images
from dsb_nb.transfer import TransferConfig, load_digits28, load_emnist_letters
from dsb_nb.metrics import load_mnist, mnist_data_root
from dsb_nb.score_matching import n_params
from dsb_nb.setup import bf16_native

# what differs between the real run and the dry run; the times are reserves, every speed is measured
PRESETS = {
    'gpu': dict(budget_min=12., min_steps=2000, fit_steps=100, round_to=50, max_ipf=5, n_data=None, diag_n=100,
                write_s=30., restart_s=60.),
    'dry': dict(budget_min=1.5, min_steps=10, fit_steps=5, round_to=5, max_ipf=2, n_data=256, diag_n=16,
                write_s=10., restart_s=10.),
}
MEASURE_SHARE = 0.08      # of the budget (at most 60 s) for the speed measurement
TRANSFER_SHARE = 0.25     # of the budget reserved for the transfer run
SAFETY = 0.9              # of each IPF iteration's time slot that the sizing fills


def log(*msg):
    print(f'[{time.time() - T0:5.0f}s]', *msg, flush=True)


class Clock:
    "Wall time of this call and of the whole run (earlier calls included) against the budget and the per-call limit"
    def __init__(self, budget_s, call_limit_s, used_before=0.):
        self.budget_s, self.call_limit_s, self.used_before = budget_s, call_limit_s, used_before
        self.counts = True                         # False: this call adds nothing to the run's time (nothing to do)

    def elapsed(self): return time.time() - T0

    def used(self): return self.used_before + (self.elapsed() if self.counts else 0.)

    def left(self): return self.budget_s - self.used()

    def call_left(self): return self.call_limit_s - self.elapsed()


def configs(dry, device, overrides):
    "The MNIST and transfer configurations: the library's GPU defaults, or its tiny CPU ones for the dry run"
    if dry:                                        # tiny()'s nets; shorter chains and smaller batches for 1.5 minutes
        kw = dict(N=6, n_data=PRESETS['dry']['n_data'], n_eval=64, eval_bs=64, **overrides)
        return MnistConfig.tiny(**{'bs': 16, 'n_cache': 64, 'cache_every': 25, **kw}), TransferConfig.tiny(**kw)
    kw = dict(amp=bf16_native(device), **overrides)
    return MnistConfig(**kw), TransferConfig(**kw)


def scorer(device):
    "The classifier shipped in dsb_nb (the same metric everywhere), its `MnistFD`, and its MNIST test accuracy"
    clf = shipped_classifier().to(device)
    fd = MnistFD(clf)                                                # holds the features of the 10,000 test images
    with torch.no_grad():
        pred = clf.head(fd.ref.to(device)).argmax(1).cpu()          # MnistNet: forward = head(features)
    return fd, pred.eq(load_mnist(False)[1]).float().mean().item()


def measure(cfg, x, device, fd, solver, seconds):
    "Training steps/s, sampling images/s, scoring s/image and checkpoint seconds of `cfg`, in about `seconds`"
    t0, mode = time.time(), 'bf16' if cfg.amp else 'fp32'
    sps = speed(cfg, x, device, 10, [mode], solver)[mode]['steps_per_s']           # a probe, warm-up included
    steps = int(min(max(sps*(0.45*seconds - (time.time() - t0)), 0), 5000))
    if steps >= 10: sps = speed(cfg, x, device, steps, [mode], solver)[mode]['steps_per_s']
    dsb = mnist_dsb(cfg, x, device=device, progress=False, **solver_kw(solver))
    dsb.sample(8)                                                                   # warm-up
    m = min(cfg.eval_bs, cfg.n_eval)
    t1 = time.time()
    xs = dsb.sample(m).float()
    dsb.sync()
    ips = m/(time.time() - t1)
    t1 = time.time()
    fd(xs)
    score_s = (time.time() - t1)/m
    with tempfile.TemporaryDirectory() as d:
        t1 = time.time()
        dsb.save(Path(d)/'dsb.pt')
        ckpt_s = time.time() - t1
    fd.floor(cfg.n_eval)                                                            # computed once, needed anyway
    return dict(steps_per_s=sps, speed_steps=max(steps, 10), images_per_s=ips, score_s_per_image=score_s,
                ckpt_s=ckpt_s, n_params_per_net=n_params(dsb.net_b), measure_s=time.time() - t0)


def first_forward(solver):
    ("The MNIST run's DSBM-IMF reads iteration 1's forward map off its backward net (first_forward='analytic', "
     "notebook 16): what made one CPU hour reach 4.6x the floor. Generation only: the transfer trains it")
    return {'first_forward': 'analytic'} if solver == 'dsbm-imf' else {}


def costs(m, cfg, diag_n):
    "Seconds per gradient step (its share of cache refreshes and checkpoints included), per half, per evaluation"
    per_step = 1/m['steps_per_s'] + cfg.n_cache/(m['images_per_s']*cfg.cache_every)
    if cfg.ckpt_every: per_step += m['ckpt_s']/cfg.ckpt_every
    return dict(per_step_s=per_step, half_s=diag_n/m['images_per_s'] + m['ckpt_s'],
                eval_s=cfg.n_eval*(1/m['images_per_s'] + m['score_s_per_image']))


def size_run(c, avail_s, p, read_off=False):
    ("(IPF iterations, steps per half): the most iterations (<= max_ipf) with >= min_steps per half, else one (0: none); "
     "`read_off`: iteration 1's forward half is read off its backward net (diagnosed, not trained)")
    for n_ipf in range(p['max_ipf'], 0, -1):
        trained = 2*n_ipf - read_off                                     # halves that take gradient steps
        slot = SAFETY*avail_s - n_ipf*c['eval_s'] - 2*n_ipf*c['half_s']
        steps = int(max(slot, 0)/(trained*c['per_step_s']))//p['round_to']*p['round_to']
        if steps >= p['min_steps']: break
    return (n_ipf, steps) if steps >= p['fit_steps'] else (0, steps)


def iteration_s(c, steps_left, halves_left):
    "Seconds an IPF iteration still needs: its training left, its halves' diagnostics and checkpoints, its evaluation"
    return steps_left*c['per_step_s'] + halves_left*c['half_s'] + c['eval_s']


def evaluate(dsb, cfg, fd):
    "n_eval samples of the backward chain (generated images) and their Fréchet distance to the MNIST test set"
    t0 = time.time()
    xs = torch.cat([dsb.sample(min(cfg.eval_bs, cfg.n_eval - i)).float() for i in range(0, cfg.n_eval, cfg.eval_bs)])
    dsb.sync()
    sample_s = time.time() - t0
    return xs, {'sample_s': sample_s, 'fd': float(fd(xs)), 'floor': float(fd.floor(cfg.n_eval))}


def read_part(ck):
    "Rows and sample grids scored so far in checkpoint folder `ck`"
    ck = Path(ck)
    rows = json.loads((ck/'eval.json').read_text()) if (ck/'eval.json').exists() else []
    grids = torch.load(ck/'grids.pt') if (ck/'grids.pt').exists() else {}
    return rows, grids


def transfer_source():
    "(images, what they are) for the transfer's source end, or (None, why not): EMNIST letters, else the stand-in"
    try:
        return load_emnist_letters()[0], 'EMNIST letters (train)'
    except Exception as e:
        why = f'EMNIST not on disk ({type(e).__name__})'
    try:
        return load_digits28()[0], f'{why}: the offline stand-in, scikit-learn digits upsampled to 28x28'
    except Exception as e:
        saved = Path(mnist_data_root() or '.')/'digits28.pt'
        if saved.exists():
            return torch.load(saved)[0], f'{why}: the offline stand-in, scikit-learn digits (from {saved})'
        return None, f'{why}, and no stand-in: load_digits28 failed ({type(e).__name__}: {e}) and no {saved}'


class Run:
    "One call: the plan and progress (`state`, saved for a rerun), the clock, and the data and scorer when needed"
    def __init__(self, a):
        self.a, self.p = a, PRESETS['dry' if a.dry_run else 'gpu']
        self.device = torch.device(a.device)
        self.state = self.load_state() or {'solver': a.solver, 'dry_run': a.dry_run, 'used_s': 0., 'calls': 0,
                                           'mnist': {}, 'transfer': {}}
        self.state['calls'] += 1
        budget = a.budget_min or self.state.get('budget_min') or self.p['budget_min']
        self.clock = Clock(60*budget, 60*a.call_limit_min, self.state['used_s'])
        self.state['budget_min'] = budget

    def load_state(self):
        "The plan and progress of earlier calls, or None; --fresh removes them and their checkpoints"
        f = self.a.ckpt/'gpu_mnist'/'plan.json'
        if self.a.fresh:
            for d in ('gpu_mnist', 'gpu_transfer'): shutil.rmtree(self.a.ckpt/d, ignore_errors=True)
        if not f.exists(): return None
        state = json.loads(f.read_text())
        if (state['solver'], state['dry_run']) != (self.a.solver, self.a.dry_run):
            sys.exit(f"{f} belongs to a run with solver {state['solver']} and dry_run {state['dry_run']}: "
                     "pass --fresh to start over, or the same options to continue it")
        return state

    def save(self):
        "Write the plan and progress (with the wall time used so far) for a rerun"
        self.state['used_s'] = self.clock.used()
        (self.a.ckpt/'gpu_mnist').mkdir(parents=True, exist_ok=True)
        (self.a.ckpt/'gpu_mnist'/'plan.json').write_text(json.dumps(self.state, indent=1))

    def done(self):
        s = self.state
        return bool(s['mnist'].get('done') and (s['transfer'].get('done') or s['transfer'].get('skipped')))

    def setup(self):
        "MNIST, the scorer and the configurations (a rerun takes the configurations it planned with)"
        use_local_data()
        if mnist_data_root() is None:
            raise FileNotFoundError('MNIST not found: set DSB_NB_DATA or put it in ../shared/data '
                                    '(nothing is downloaded)')
        cfg, tcfg = configs(self.a.dry_run, self.device, json.loads(self.a.cfg))
        s = self.state
        self.cfg = MnistConfig(**s['mnist_config']) if 'mnist_config' in s else cfg
        self.tcfg = TransferConfig(**s['transfer_config']) if 'transfer_config' in s else tcfg
        self.fd, acc = scorer(self.device)
        self.x = load_mnist(True)[0][:self.p['n_data']]
        s.update(classifier_test_acc=acc, n_train_images=len(self.x))
        s.setdefault('setup_s', self.clock.elapsed())
        log(f"data and scorer ready (classifier test accuracy {acc:.4f})")

    def run(self):
        "Whatever is left to do within the budget"
        if self.clock.left() <= 0:
            for key in ('mnist', 'transfer'):
                if not self.state[key].get('done'): self.state[key].update(done=True, stopped='budget spent')
            return
        self.setup()
        self.mnist()
        self.transfer()

    def plan(self):
        "Measure the speeds and size the MNIST run (first call only: a rerun keeps this plan)"
        s, p, clock, cfg = self.state, self.p, self.clock, self.cfg
        m = measure(cfg, self.x, self.device, self.fd, self.a.solver, min(60., MEASURE_SHARE*clock.budget_s))
        c = costs(m, cfg, p['diag_n'])
        restart_s = max(p['restart_s'], 1.5*s['setup_s'])             # a rerun repeats this call's setup
        restarts = math.ceil(clock.left()/clock.call_limit_s) - 1
        reserve = p['write_s'] + (0 if self.a.no_transfer else TRANSFER_SHARE*clock.budget_s)
        n_ipf, steps = size_run(c, clock.left() - reserve - restarts*restart_s, p, bool(first_forward(self.a.solver)))
        s.update(measured=m, costs=c)
        s['mnist'] = {'n_ipf': n_ipf, 'steps_per_half': steps, 'reserve_s': reserve, 'restart_s': restart_s,
                      'restarts': restarts, 'ckpt': str(self.a.ckpt/'gpu_mnist')}
        if n_ipf == 0:
            it = iteration_s(c, 2*p['fit_steps'], 2)
            s['mnist'].update(done=True, skipped=f"does not fit: one IPF iteration of {p['fit_steps']} steps per half "
                                                 f"needs ~{it/60:.1f} min at {m['steps_per_s']:.2f} steps/s, "
                                                 f"{max(clock.left() - reserve, 0)/60:.1f} min left after the "
                                                 "reserves")
        log('measured', {k: round(v, 4) for k, v in m.items()})
        log(f'MNIST run: {n_ipf} IPF iterations x {steps} steps per half')

    def mnist(self):
        "Plan (first call) and run the MNIST generation"
        s = self.state
        if 'n_ipf' not in s['mnist']:
            self.plan()
        part = s['mnist']
        self.cfg.n_steps = part.get('steps_per_half') or self.cfg.n_steps
        s['mnist_config'] = dict(self.cfg.__dict__)
        self.save()
        if part.get('done'): return
        left_restarts = part['restarts'] - (s['calls'] - 1)                  # restarts still ahead
        reserve = part['reserve_s'] + max(left_restarts, 0)*part['restart_s']

        def make():
            return mnist_dsb(self.cfg, self.x, device=self.device, ckpt_dir=part['ckpt'],
                             progress=sys.stderr.isatty(), n_eval=self.p['diag_n'], **solver_kw(self.a.solver),
                             **first_forward(self.a.solver))
        self.run_part('mnist', make, self.cfg, part, reserve)

    def size_transfer(self, src, what):
        "Size the transfer to the time left after the MNIST run, or record why it does not run"
        part, avail = self.state['transfer'], self.clock.left() - self.p['write_s']
        need = TRANSFER_SHARE*self.clock.budget_s
        if not self.state['mnist'].get('n_ipf'):
            part['skipped'] = 'the MNIST run did not fit, and the transfer trains the same networks'
        elif avail < SAFETY*need:
            part['skipped'] = f'{max(avail, 0)/60:.1f} min left, the transfer needs ~{need/60:.1f}'
        else:
            n_ipf, steps = size_run(self.state['costs'], avail, self.p)
            if n_ipf == 0:
                part['skipped'] = f"{avail/60:.1f} min left: not one IPF iteration of {self.p['fit_steps']} steps fits"
                return
            n, ck = min(self.tcfg.n_eval, len(src)), self.a.ckpt/'gpu_transfer'
            part.update(n_ipf=n_ipf, steps_per_half=steps, source=what, n_source=len(src), source_fd_n=n,
                        source_fd=float(self.fd(src[:n])), source_floor=float(self.fd.floor(n)), ckpt=str(ck))
            ck.mkdir(parents=True, exist_ok=True)
            torch.save(src[:36].clone(), ck/'source_grid.pt')
            log(f'transfer run ({what}): {n_ipf} IPF iterations x {steps} steps per half')

    def transfer(self):
        "Size (once the MNIST run is done) and run the transfer"
        part = self.state['transfer']
        if self.a.no_transfer and 'n_ipf' not in part: part['skipped'] = '--no-transfer'
        if part.get('skipped') or part.get('done') or not self.state['mnist'].get('done'):
            return                                  # nothing to do, or the MNIST run continues in the next call
        src, what = transfer_source()
        if src is None:
            part['skipped'] = what
            return
        if 'n_ipf' not in part: self.size_transfer(src, what)
        if part.get('skipped'): return
        self.tcfg.n_steps = part['steps_per_half']
        self.state['transfer_config'] = dict(self.tcfg.__dict__)
        self.save()

        def make():
            dst = self.x[:self.tcfg.n_data].to(self.device)
            return image_dsb(self.tcfg, dst, src.to(self.device), dst.shape[1:], self.device, part['ckpt'], 0,
                             sys.stderr.isatty(), n_eval=self.p['diag_n'], **solver_kw(self.a.solver))
        self.run_part('transfer', make, self.tcfg, part, self.p['write_s'])

    def run_part(self, name, make, cfg, part, reserve_s):
        """Train `part['n_ipf']` IPF iterations of the trainer `make()` (checkpointed in part['ckpt']), scoring and
        saving after each; stop before an iteration that would end after the budget less `reserve_s`, or at the
        per-call limit (to be resumed by the next call)"""
        c, clock, ck = self.state['costs'], self.clock, Path(part['ckpt'])
        rows, grids = read_part(ck)
        dsb = make()
        if (ck/'dsb.pt').exists(): dsb.load()
        part['n_params_per_net'] = n_params(dsb.net_b)
        for n in range(len(rows) + 1, part['n_ipf'] + 1):
            done_steps = dsb.half_step                                             # where a resumed half stands
            read_off = getattr(dsb, 'first_forward', 'trained') == 'analytic' and dsb.n == 0   # F of iteration 1: no steps
            halves = (2 if dsb.half == 'backward' else 1) - read_off
            need = iteration_s(c, halves*cfg.n_steps - done_steps, halves)
            if need > clock.left() - reserve_s:
                part.update(done=True, stopped=f'budget: IPF iteration {n} needs ~{need/60:.1f} min, '
                                               f'{max(clock.left() - reserve_s, 0)/60:.1f} min left for it')
                break
            # `fit` stops at the first cache refresh (or end of a half) after its time limit: leave one such interval
            interval = min(cfg.cache_every, cfg.n_steps)*c['per_step_s'] + c['half_s']
            budget_end, call_end = clock.left() - reserve_s, clock.call_left() - self.p['write_s']
            limit = min(budget_end, call_end) - c['eval_s'] - interval
            if limit > 0: dsb.fit(n, time_limit=limit)
            if dsb.n < n:                                                        # stopped, checkpointed
                if budget_end <= call_end: part.update(done=True, stopped=f'budget: stopped inside IPF iteration {n}')
                else: part['stopped'] = f'call limit: stopped inside IPF iteration {n}; rerun to continue'
                break
            xs, row = evaluate(dsb, cfg, self.fd)
            train_s = sum(h['train_s'] for h in dsb.history if h['ipf'] == n - 1)
            rows.append({'ipf': n, 'train_s': train_s, **row, 'wall_s': clock.used(), 'call': self.state['calls']})
            grids[n] = xs[:36].cpu()
            (ck/'eval.json').write_text(json.dumps(rows, indent=1))
            torch.save(grids, ck/'grids.pt')
            log(name, {k: round(v, 2) if isinstance(v, float) else v for k, v in rows[-1].items()})
            trained = sum(1 for h in dsb.history if h['ipf'] == n - 1 and not h.get('closed_form'))
            c['per_step_s'] = max(c['per_step_s'], train_s/(trained*cfg.n_steps))     # learn from what it took
            c['eval_s'] = max(c['eval_s'], row['sample_s'])
            self.save()
        else:
            part.update(done=True, stopped=None)

    def results(self):
        "The results JSON in the shared layout: one row per part (mnist, transfer), each with its per-iteration rows"
        s = self.state
        settings = dict(solver=self.a.solver, budget_min=s['budget_min'], call_limit_min=self.a.call_limit_min,
                        preset=self.p, checkpoints=str(self.a.ckpt), mnist_config=s.get('mnist_config'),
                        transfer_config=s.get('transfer_config'))
        rows = []
        for key in ('mnist', 'transfer'):
            d = dict(s[key])
            if d.get('ckpt'): d['rows'] = read_part(d['ckpt'])[0]
            rows.append({'part': key, **d})
        extra = {k: s.get(k) for k in ('calls', 'setup_s', 'classifier_test_acc', 'n_train_images', 'measured', 'costs')}
        return results('gpu', settings, rows, machine(str(self.device)), cpu_reduced=self.a.dry_run,
                       dry_run=self.a.dry_run, complete=self.done(), **extra)


def part(res, key):
    "The row of part `key` ('mnist' or 'transfer') of a results dict"
    return next(r for r in res['rows'] if r['part'] == key)


def summarize(res):
    "The one summary line"
    parts = []
    for name, key in (('MNIST', 'mnist'), ('transfer', 'transfer')):
        d = part(res, key)
        if d.get('rows'):
            r = d['rows'][-1]
            s = f"{name} FD {r['fd']:.1f} ({r['fd']/r['floor']:.1f}x floor) after {r['ipf']} IPF its"
            s += f" in {r['wall_s']/60:.1f} min" if key == 'mnist' else f" (source {d['source_fd']:.1f})"
            parts.append(s + (f" [{d['stopped']}]" if d.get('stopped') else ''))
        else:
            why = d.get('skipped') or d.get('stopped') or ('not started' if key == 'mnist' else 'waits for MNIST')
            parts.append(f"{name} not run: {why}")
    if res.get('error'): parts.append(f"ERROR {res['error']}")
    tag = 'gpu --dry-run (CPU, toy size)' if res['dry_run'] else 'gpu'
    more = '' if res['complete'] or res.get('error') else ' (incomplete: rerun the same command to continue)'
    return f"{tag}: {'; '.join(parts)}; {res['used_s']/60:.1f}/{res['settings']['budget_min']:g} min used{more}"


def plot(res, path):
    "Sample grids per MNIST iteration, the transfer's source and last grid, and FD against wall time"
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = []
    for name, key in (('MNIST', 'mnist'), ('transfer', 'transfer')):
        p = part(res, key)
        rows, ck = p.get('rows', []), p.get('ckpt')
        grids = read_part(ck)[1] if rows else {}
        if key == 'transfer' and rows:                 # its source images and its last iteration only
            rows, src = rows[-1:], Path(ck)/'source_grid.pt'
            if src.exists(): panels.append(('transfer source', torch.load(src)))
        panels += [(f"{name} IPF {r['ipf']}\nFD {r['fd']:.1f} ({r['fd']/r['floor']:.1f}x floor)", grids[r['ipf']])
                   for r in rows if r['ipf'] in grids]
    fig, axs = plt.subplots(1, len(panels) + 1, figsize=(max(5., 2.4*(len(panels) + 1)), 3.), squeeze=False)
    for ax, (title, g) in zip(axs[0], panels):
        show_images(g, nrow=6, ax=ax, title=title)
    ax = axs[0][-1]
    floors = set()
    for name, key in (('MNIST', 'mnist'), ('transfer', 'transfer')):
        rows = part(res, key).get('rows', [])
        if rows:
            ax.plot([r['wall_s']/60 for r in rows], [r['fd'] for r in rows], 'o-', label=name)
            floors.add(round(rows[-1]['floor'], 6))
    for i, f in enumerate(sorted(floors)):
        ax.axhline(f, ls=':', c='k', label='floor (real images)' if i == 0 else None)
    if floors:
        ax.set_yscale('log')
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, 'nothing scored', ha='center', va='center', transform=ax.transAxes)
    ax.set_xlabel('wall time (min)')
    ax.set_ylabel('Fréchet distance')
    fig.suptitle(f"{'DRY RUN (CPU, toy size): ' if res['dry_run'] else ''}{res['machine']['device']}, "
                 f"solver {res['settings']['solver']}, {res['used_s']/60:.1f}/{res['settings']['budget_min']:g} min", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(res, out, clock, publish):
    "gpu.png, then gpu.json with the wall time used so far and the summary line"
    out.mkdir(parents=True, exist_ok=True)
    res['used_s'] = clock.used()
    plot(res, out/'gpu.png')
    if publish: publish_fig(out/'gpu.png')
    res['used_s'] = clock.used()
    res['summary'] = summarize(res)
    write_results(out/'gpu.json', res)
    log(f"wrote {out/'gpu.json'} and {out/'gpu.png'}")


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dry-run', action='store_true', help='CPU, toy size, ~1.5 min, results to a temporary folder')
    p.add_argument('--budget-min', type=float, help='minutes of wall time for the whole run (default 12; dry run 1.5)')
    p.add_argument('--call-limit-min', type=float, default=9.5, help='stop (checkpointed) after this long in one call')
    p.add_argument('--device', help="default: 'cuda' ('cpu' with --dry-run)")
    p.add_argument('--solver', default='dsbm-imf', choices=['dsb', 'dsbm', 'dsbm-imf'],
                   help='the trainer, as in bench/mnist.py (dsbm-imf: DSBM from the independent coupling)')
    p.add_argument('--cfg', default='{}', help='JSON of MnistConfig fields to override, e.g. \'{"lr": 2e-4}\'')
    p.add_argument('--no-transfer', action='store_true', help='spend the whole budget on MNIST')
    p.add_argument('--out', help='results folder (default bench/results; dry run: a new temporary folder)')
    p.add_argument('--ckpt', help='checkpoint folder (default checkpoints/; dry run: OUT/checkpoints)')
    p.add_argument('--fresh', action='store_true', help='discard the plan and checkpoints of earlier calls')
    p.add_argument('--threads', type=int, help="CPU threads (default: torch's; dry run: 1)")
    a = p.parse_args()
    a.out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix='gpu_dry_')) if a.dry_run else root/'bench'/'results'
    a.ckpt = Path(a.ckpt) if a.ckpt else a.out/'checkpoints' if a.dry_run else root/'checkpoints'
    a.device = a.device or ('cpu' if a.dry_run else 'cuda')
    a.threads = a.threads or (1 if a.dry_run else None)    # on a shared 2-core machine two threads thrash
    if a.device.startswith('cuda') and not torch.cuda.is_available():
        p.error('no CUDA device here: use --dry-run (or --device cpu to try the GPU sizes on the CPU)')
    return a


def main():
    a = parse()
    if a.threads: torch.set_num_threads(a.threads)
    r = Run(a)
    error = None
    if r.done():
        log('this run is complete: rewriting its results (--fresh starts a new one)')
        r.clock.counts = False
    else:
        try:
            r.run()
        except Exception as e:                      # still write what there is, then fail
            error = f'{type(e).__name__}: {e}'
            traceback.print_exc()
    res = r.results()
    if error: res['error'] = error
    write(res, a.out, r.clock, publish=not a.dry_run and a.out == root/'bench'/'results')
    r.save()
    print(res['summary'], flush=True)
    return 1 if error else 0


if __name__ == '__main__': sys.exit(main())
