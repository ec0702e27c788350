#!/usr/bin/env python
"""Accuracy of trained bridges against exact answers (notebook 19).

Gaussian family: d in {2, 10, 20, 50} x reference {brownian (T=0.5), ou (alpha=1, T=1)} x {generation (prior N(0, I)),
transfer (data to data)}, covariance eigenvalues log-uniform in [0.1, 10] with random rotations (`random_gaussian_task`).
For each task and each kernel ('dsb' = the paper's eqs. (12)-(13), 'exact' = the bias-free option) it trains `DSB` with the
library's defaults and records, per IPF iteration and chain: the KL of the (X_0, X_N) coupling to the closed-form bridge
(raw and corrected by the sampling floor), mean / marginal-cov / cross-cov errors, the same for DSB's limit
(`ideal_dsb_gaussian`, both kernels) and for exact samples. Mixture tasks (`MixtureBridge`): cBW2-UVP of the forward chain.

One JSON per (task, kernel) goes to bench/results/accuracy/ (a finished one is skipped, so the script resumes);
`--merge` gathers them into bench/results/accuracy.json and draws accuracy.png (copied to nbs/figs/bench_accuracy.png).

    python bench/accuracy.py --suite gaussian --kernels dsb exact            # the family (CPU: hours)
    python bench/accuracy.py --suite gaussian --dims 10 20 --shard 0/2 &     # split over processes
    python bench/accuracy.py --suite mixture
    python bench/accuracy.py --merge
    python bench/accuracy.py --suite gaussian --dims 2 10 --kernels dsbm --draws 5 --tag draws   # KL over draws
    python bench/accuracy.py --merge --tag draws                             # -> accuracy_draws.json
    python bench/accuracy.py --ablation                                      # before/after rows for each default
    python bench/accuracy.py --knobs --iters 10 --shard 0/2 &                # training knobs at d = 2 on 20 steps

`--knobs`: DSBM-IPF on the d = 2 Brownian generation task, 20 steps, with one training knob changed at a time
(batch, EMA, learning rate, cache, steps per half), and the defaults on 100 steps of the same T:
bench/results/accuracy_knobs.json. `--knobs --knob-task mix_d2 --draws 3` asks the same of the d = 2, eps = 0.1
mixture (batch, learning rate, cache, steps per half, a larger network): bench/results/accuracy_knobs_mix.json.
`--ablation` adds the new defaults one at a time (0.1.0's defaults -> + 'auto' network -> + cosine learning rate ->
+ larger, fresher cache -> + exact kernel) on two tasks and writes bench/results/accuracy_ablation.json.
"""
import argparse, json, time
from pathlib import Path
from _common import machine, results, read_results, write_results, keyed_rows, common_machine, publish_fig

HERE = Path(__file__).resolve().parent
OUT = HERE/'results'/'accuracy'
MIXTURES = [dict(d=2, eps=0.1), dict(d=16, eps=1.0)]
GAUSS_DIMS = [2, 10, 20, 50]

def jobs(args):
    out = []
    if args.suite in ('gaussian', 'all'):
        for d in args.dims or GAUSS_DIMS:
            for ref in args.refs:
                for kind in args.kinds:
                    for kern in args.kernels: out.append(('gaussian', dict(d=d, kind=kind, ref=ref), kern))
    if args.suite in ('mixture', 'all'):
        for m in MIXTURES:
            if args.dims and m['d'] not in args.dims: continue      # --dims picks mixtures by their d too
            for kern in args.kernels: out.append(('mixture', m, kern))
    return out

def name(kind, spec, kern):
    if kind == 'gaussian': return f"gauss_{spec['kind']}_d{spec['d']}_{spec['ref']}_{kern}"
    return f"mix_d{spec['d']}_eps{spec['eps']:g}_{kern}"

def auto_solver(kind, spec, seed, n_grid=20)->tuple:
    "The trainer `bridge(method='auto')` picks for a task, as `run_*_task` arguments, and {method, rho}"
    import torch
    from dsb_nb.solvers import SOLVERS, auto_choice
    from dsb_nb.accuracy import random_gaussian_task, MixtureBridge
    g = torch.Generator().manual_seed(0)
    if kind == 'gaussian':
        from dsb_nb.gaussian import sample_gaussian_bridge
        t = random_gaussian_task(spec['d'], spec['kind'], spec['ref'], seed=seed, N=n_grid)
        x0, x1 = sample_gaussian_bridge(4000, t['bridge'], g)
        gammas, f = t['gammas'], t['f']
    else:
        from dsb_nb.reference import make_gammas
        t = MixtureBridge(spec['d'], spec['eps'], seed=seed)
        x0 = t.sample_p0(4000, g); x1 = t.sample_cond(x0, g); gammas, f = make_gammas(20, T=t.T), None
    c = auto_choice(x0, x1, gammas, f=f)       # bridge()'s own decision (notebook 18), block check included
    return (dict(cls=SOLVERS[c['method']], **({'coupling': c['coupling']} if 'coupling' in c else {})),
            dict(method=c['method'], rho=c['rho'], block_bias=c.get('block_bias')))

def _ema_used(kw:dict):
    "The EMA's cap a run used: the solver's default (SB-CFM: None, no cap) unless the job set one"
    from dsb_nb.solvers import _default
    from dsb_nb.dsb import DSB
    return kw.get('ema_decay', _default(kw.get('cls', DSB), 'ema_decay'))

def _schedule_used(kw:dict)->str:
    "The learning-rate schedule a solver's default gives for these arguments (DSBM's 'auto' follows its coupling)"
    from dsb_nb.solvers import _default
    from dsb_nb.dsb import DSB
    s = _default(kw.get('cls', DSB), 'lr_schedule')          # no 'cls': the kernels 'dsb' and 'exact' train `DSB`
    if s == 'auto':
        from dsb_nb.dsbm import auto_lr_schedule
        s = auto_lr_schedule(kw['coupling'])
    return s

def run(args):
    import torch
    torch.set_num_threads(args.threads)
    from dsb_nb.accuracy import random_gaussian_task, run_gaussian_task, MixtureBridge, run_mixture_task
    todo = jobs(args)
    i, n = map(int, args.shard.split('/'))
    OUT.mkdir(parents=True, exist_ok=True)
    for j, (kind, spec, kern) in enumerate(todo):
        if j % n != i: continue
        out = (HERE/'results'/f'accuracy_{args.tag}' if args.tag        # --tag, or another grid: not merged into accuracy.json
               else OUT if args.n_grid == 20 else HERE/'results'/f'accuracy_N{args.n_grid}')
        out.mkdir(parents=True, exist_ok=True)
        path = out/f'{name(kind, spec, kern)}.json'
        if path.exists() and not args.force: print('done already:', path.name); continue
        kw = dict(kernel=kern) if kern == 'exact' else {}
        if kern == 'dsbm':
            from dsb_nb.dsbm import DSBM; kw.update(cls=DSBM, coupling='reference')   # DSBM-IPF, as recorded
        if kern == 'sbcfm':
            from dsb_nb.sbcfm import SBCFM; kw.update(cls=SBCFM)              # SB-CFM whatever bridge() would pick
        if kern == 'dsbm-ot':
            from dsb_nb.dsbm import DSBM; kw.update(cls=DSBM, coupling='ot')   # bridge()'s pick above the block check
        choice = None
        if kern == 'auto':                                                          # what bridge(method='auto') would train
            solver, choice = auto_solver(kind, spec, args.seed, args.n_grid)
            kw.update(solver)
        if args.steps: kw['n_steps'] = args.steps
        if args.lr_schedule: kw['lr_schedule'] = args.lr_schedule
        t0 = time.time()
        if kind == 'gaussian':
            res = run_gaussian_task(random_gaussian_task(spec['d'], spec['kind'], spec['ref'], seed=args.seed, N=args.n_grid), n_ipf=args.iters,
                                    n_eval=args.n_eval, seed=args.seed, device=args.device, draws=args.draws, **kw)
        else:
            res = run_mixture_task(MixtureBridge(spec['d'], spec['eps'], seed=args.seed), n_ipf=args.iters, seed=args.seed,
                                   N=args.n_grid, draws=args.draws, device=args.device, **kw)
        if choice: res['choice'] = choice
        res.update(kernel=kern, settings=dict(iters=args.iters, n_steps=args.steps or 'default', seed=args.seed, threads=args.threads,
                                              n_grid=args.n_grid, draws=args.draws, lr_schedule=args.lr_schedule or 'default',
                                              **({} if args.lr_schedule else                       # what 'default' was
                                                 {'lr_schedule_used': _schedule_used(kw)}),
                                              ema_decay_used=_ema_used(kw)),
                   machine=machine(args.device, args.threads),
                   wall_s=time.time() - t0)
        path.write_text(json.dumps(res, indent=0))
        last = res['rows'][-2] if kind == 'gaussian' else res['rows'][-1]
        print(f"{path.name}: {time.time() - t0:.0f}s", {k: round(v, 4) for k, v in last.items() if isinstance(v, float)}, flush=True)

ABLATION = [('0.1.0 defaults', dict(net='small', lr_schedule='constant', n_cache=1000, cache_every=500)),
            ("+ 'auto' network", dict(lr_schedule='constant', n_cache=1000, cache_every=500)),
            ('+ cosine lr', dict(n_cache=1000, cache_every=500)),
            ('+ cache 4000 / 250 (new defaults)', dict()),
            ('+ exact kernel', dict(kernel='exact'))]
ABLATION_TASKS = [dict(d=10, kind='transfer', ref='brownian'), dict(d=20, kind='generation', ref='ou')]

def ablation(args):
    import torch
    torch.set_num_threads(args.threads)
    from dsb_nb.accuracy import random_gaussian_task, run_gaussian_task
    from dsb_nb.score_matching import TimeMLP
    path = HERE/'results'/'accuracy_ablation.json'
    fresh = lambda: results('accuracy', dict(study='ablation', iters=args.iters, n_steps=args.steps or 'default', seed=args.seed,
                                             threads=args.threads), [], machine(args.device, args.threads))
    res = read_results(path) if path.exists() else fresh()
    have = {(r['task'], r['config']) for r in res['rows']}
    i, n = map(int, args.shard.split('/'))
    jobs = [(t, c) for t in ABLATION_TASKS for c in ABLATION]
    for j, (spec, (label, kw)) in enumerate(jobs):
        task = random_gaussian_task(spec['d'], spec['kind'], spec['ref'], seed=args.seed)
        if j % n != i or (task['name'], label) in have: continue
        kw = dict(kw); net = kw.pop('net', None)
        if net: kw.update(net_f=TimeMLP.preset(spec['d'], net), net_b=TimeMLP.preset(spec['d'], net))
        if args.steps: kw['n_steps'] = args.steps
        t0 = time.time()
        out = run_gaussian_task(task, n_ipf=args.iters, n_eval=args.n_eval, seed=args.seed, device=args.device, **kw)
        rows = [r for r in out['rows'] if r['chain'] == 'backward']
        res = read_results(path) if path.exists() else res                 # another shard may have written meanwhile
        res['rows'].append({'task': task['name'], 'config': label, 'wall_s': time.time() - t0,
                            'kl_corrected': [r['kl_corrected'] for r in rows], 'kl_ideal': [r['kl_ideal'] for r in rows],
                            'kl_ideal_exact': [r['kl_ideal_exact'] for r in rows], 'cross_err': [r['cross_err'] for r in rows],
                            'cross_err_ideal': [r['cross_err_ideal'] for r in rows], 'kl_floor': rows[0]['kl_floor']})
        write_results(path, res, indent=0, publish=True)
        print(task['name'], label, f"{time.time() - t0:.0f}s", [round(r['kl_corrected'], 4) for r in rows], flush=True)

# --knobs: on 20 steps, does any training knob move DSBM-IPF's generative KL at d = 2 (11-32x the floor)?
KNOBS = [('defaults', {}), ('bs 512', dict(bs=512)), ('ema_decay 0.999', dict(ema_decay=0.999)),
         ('lr 3e-4', dict(lr=3e-4)), ('cache 16,000 / 250', dict(n_cache=16_000)),
         ('4,000 steps per half', dict(n_steps=4000)),
         ('100 steps of the same T', dict(N=100))]

def knobs(args):
    """DSBM-IPF (as in the family's dsbm jobs) on the d = 2 Brownian generation task, 20 steps, with one training knob
    changed at a time (and the defaults on 100 steps): raw KL of the generative coupling per IPF iteration, its floor,
    into accuracy_knobs.json"""
    import torch
    torch.set_num_threads(args.threads)
    from dsb_nb.accuracy import random_gaussian_task, run_gaussian_task
    from dsb_nb.dsbm import DSBM
    path = HERE/'results'/'accuracy_knobs.json'
    fresh = lambda: results('accuracy', dict(study='knobs', iters=args.iters, seed=args.seed, threads=args.threads,
                                             task='generation d=2 brownian, N = 20 (each row: its N)',
                                             solver="DSBM(coupling='reference')"),
                            [], machine(args.device, args.threads))
    res = read_results(path) if path.exists() else fresh()
    have = {r['config'] for r in res['rows']}
    i, n = map(int, args.shard.split('/'))
    for j, (label, kw) in enumerate(KNOBS):
        if j % n != i or label in have: continue
        t0 = time.time()
        kw = dict(kw); N = kw.pop('N', 20)
        task = random_gaussian_task(2, 'generation', 'brownian', seed=args.seed, N=N)
        out = run_gaussian_task(task, n_ipf=args.iters, n_eval=args.n_eval, seed=args.seed, device=args.device,
                                cls=DSBM, coupling='reference', **kw)
        rows = [r for r in out['rows'] if r['chain'] == 'backward']
        res = read_results(path) if path.exists() else res                 # another shard may have written meanwhile
        res['rows'].append({'task': task['name'], 'config': label, 'kw': kw, 'N': N, 'wall_s': time.time() - t0,
                            'kl': [r['kl'] for r in rows], 'kl_floor': rows[0]['kl_floor'],
                            'kl_ideal': [r['kl_ideal'] for r in rows]})
        write_results(path, res, indent=0, publish=True)
        print(label, f"{time.time() - t0:.0f}s", [round(r['kl']/r['kl_floor'], 1) for r in rows], flush=True)

# --knobs --knob-task mix_d2: the same question on the d = 2, eps = 0.1 mixture, whose cBW2-UVP stays at about 3x its
# floor from iteration 9 on and does not fall on 100 steps (accuracy_N100.json): training noise, or capacity?
MIX_KNOBS = [('defaults', {}), ('bs 512', dict(bs=512)), ('lr 3e-4', dict(lr=3e-4)),
             ('cache 16,000 / 250', dict(n_cache=16_000)), ('4,000 steps per half', dict(n_steps=4000)),
             ("network 'xl'", dict(net='xl')), ('8,000 steps per half', dict(n_steps=8000)),
             ('4,000 steps per half, bs 512', dict(n_steps=4000, bs=512)),
             ('8,000 steps per half, 20 iterations', dict(n_steps=8000)),     # run with --iters 20
             ('16,000 steps per half', dict(n_steps=16_000))]

def mix_knobs(args):
    """DSBM-IPF on a mixture (20 steps; --knob-task mix_d2: d = 2, eps = 0.1; mix_d16: d = 16, eps = 1), one training
    knob changed at a time (--knob-labels: only these): the forward conditional's cBW2-UVP per IPF iteration as a median
    over --draws draws, with its floor, into accuracy_knobs_mix.json"""
    import torch
    torch.set_num_threads(args.threads)
    from dsb_nb.accuracy import MixtureBridge, run_mixture_task
    from dsb_nb.dsbm import DSBM
    from dsb_nb.score_matching import TimeMLP
    spec = MIXTURES[0 if args.knob_task == 'mix_d2' else 1]
    task_name = f"mixture d={spec['d']} eps={spec['eps']:g}"
    path = HERE/'results'/'accuracy_knobs_mix.json'
    fresh = lambda: results('accuracy', dict(study='knobs', iters=args.iters, seed=args.seed, threads=args.threads,
                                             draws=args.draws, task='each row: its mixture, N = 20',
                                             solver="DSBM(coupling='reference')"),
                            [], machine(args.device, args.threads))
    res = read_results(path) if path.exists() else fresh()
    have = {(r['task'], r['config']) for r in res['rows']}
    i, n = map(int, args.shard.split('/'))
    for j, (label, kw) in enumerate(MIX_KNOBS):
        if j % n != i or (task_name, label) in have or (args.knob_labels and label not in args.knob_labels): continue
        t0, kw = time.time(), dict(kw)
        net = kw.pop('net', None)
        torch.manual_seed(args.seed)
        nets = {k: TimeMLP.preset(spec['d'], net) for k in ('net_f', 'net_b')} if net else {}
        out = run_mixture_task(MixtureBridge(spec['d'], spec['eps'], seed=args.seed), n_ipf=args.iters, seed=args.seed,
                               cls=DSBM, coupling='reference', draws=args.draws, device=args.device, **kw, **nets)
        res = read_results(path) if path.exists() else res                 # another shard may have written meanwhile
        res['rows'].append({'task': out['task'], 'config': label, 'kw': {**kw, **({'net': net} if net else {})},
                            'wall_s': time.time() - t0, 'n_params': sum(p.numel() for p in nets['net_b'].parameters()) if net else None,
                            'median': [r['draws']['median'] for r in out['rows']], 'lo': [r['draws']['lo'] for r in out['rows']],
                            'hi': [r['draws']['hi'] for r in out['rows']], 'floor': [r['draws']['floor'] for r in out['rows']]})
        write_results(path, res, indent=0, publish=True)
        print(label, f"{time.time() - t0:.0f}s", [round(r['draws']['median']/r['draws']['floor'], 2) for r in out['rows']], flush=True)

def merge_grid(args):
    "--merge with --n-grid N: the jobs of results/accuracy_N<N>/ beside the same jobs on 20 steps, into accuracy_N<N>.json"
    rows = []
    for p in sorted((HERE/'results'/f'accuracy_N{args.n_grid}').glob('*.json')):
        new, old = json.loads(p.read_text()), json.loads((OUT/p.name).read_text()) if (OUT/p.name).exists() else None
        its = new['settings']['iters']
        row = dict(job=p.stem, task=new['task'], d=new['d'], iters=its, n_grid=args.n_grid, machine=new['machine'],
                   wall_s=new['wall_s'])
        if p.stem.startswith('mix_'):            # mixtures: the forward conditional's cBW2-UVP, beside 20 steps at the same iteration
            at = lambda r: next((x for x in r['rows'] if x['ipf'] == its), None)
            score = lambda x: {'cbw2_uvp': x['cbw2_uvp'], 'floor': x['floor'],
                               **({'cbw2_uvp_median': x['draws']['median'], 'cbw2_uvp_lo': x['draws']['lo'],
                                   'cbw2_uvp_hi': x['draws']['hi'], 'floor_median': x['draws']['floor']} if 'draws' in x else {})}
            row.update(score(at(new)))
            if old and at(old):                  # its wall time only where it ran as many iterations
                row.update({f'{k}_N20': v for k, v in score(at(old)).items()},
                           wall_s_N20=old['wall_s'] if old['settings']['iters'] == its else None)
            rows.append(row); continue
        last = lambda r: [x for x in r['rows'] if x['chain'] == 'backward'][-1]      # the generative chain, last iteration
        row.update({k: last(new)[k] for k in ('kl', 'kl_floor', 'kl_ideal', 'kl_ideal_exact')})
        if old and old['settings']['iters'] == new['settings']['iters']:
            row.update(wall_s_N20=old['wall_s'], **{f'{k}_N20': last(old)[k] for k in ('kl', 'kl_ideal')})
        rows.append(row)
    write_results(HERE/'results'/f'accuracy_N{args.n_grid}.json',
                  results('accuracy', {'note': f"the same jobs on {args.n_grid} steps of the same T as on 20 (the *_N20 fields: "
                          "bench/results/accuracy/JOB.json); raw KL of the generative coupling at the last iteration",
                          'n_grid': args.n_grid}, rows, common_machine(rows)), indent=0, publish=True)

def merge_tag(args):
    ("--merge with --tag: the jobs of results/accuracy_TAG/ (run with --draws) into accuracy_TAG.json: mixtures' cBW2-UVP "
     "median, range and floor per IPF iteration; for the Gaussian ones per "
     "IPF iteration of the generative chain, the KL's median and range over draws, its floor drawn the same way, "
     "DSB's limit, and the one-draw KL published for the same job in results/accuracy/")
    rows = []
    for p in sorted((HERE/'results'/f'accuracy_{args.tag}').glob('mix_*.json')):     # mixtures: cBW2-UVP over draws
        new = json.loads(p.read_text())
        dr = [x['draws'] for x in new['rows'] if 'draws' in x]
        if not dr: continue
        rows.append(dict(job=p.stem, task=new['task'], d=new['d'], kernel=new['kernel'], n_grid=new['settings'].get('n_grid', 20),
                         **({'choice': new['choice']} if 'choice' in new else {}),
                         **({'lr_schedule': new['settings']['lr_schedule']} if 'lr_schedule' in new['settings'] else {}),
                         draws=len(dr[0]['values']), metric='cbw2_uvp', ipf=[x['ipf'] for x in new['rows']],
                         median=[x['median'] for x in dr], lo=[x['lo'] for x in dr], hi=[x['hi'] for x in dr],
                         floor=[x['floor'] for x in dr], train_s=[x['train_s'] for x in new['rows']],
                         machine=new['machine'], wall_s=new['wall_s']))
    for p in sorted((HERE/'results'/f'accuracy_{args.tag}').glob('gauss_*.json')):
        new = json.loads(p.read_text())
        n_grid = new['settings'].get('n_grid', 20)                  # results/accuracy/ holds the 20-step runs only
        old = json.loads((OUT/p.name).read_text()) if n_grid == 20 and (OUT/p.name).exists() else None
        b = [x for x in new['rows'] if x['chain'] == 'backward']
        if not b or 'kl_draws' not in b[0]: continue
        ob = {x['ipf']: x['kl'] for x in old['rows'] if x['chain'] == 'backward'} if old else {}
        dr = [x['kl_draws'] for x in b]
        rows.append(dict(job=p.stem, task=new['task'], d=new['d'], kernel=new['kernel'],
                         n_grid=n_grid, **({'choice': new['choice']} if 'choice' in new else {}),
                         **{k: new['settings'][k] for k in ('lr_schedule', 'ema_decay_used') if k in new['settings']},
                         draws=dr[0]['draws'],
                         n=dr[0]['n'], ipf=[x['ipf'] for x in b], median=[x['median'] for x in dr],
                         lo=[x['lo'] for x in dr], hi=[x['hi'] for x in dr], floor=dr[0]['floor'],
                         floor_lo=dr[0]['floor_lo'], floor_hi=dr[0]['floor_hi'], kl_floor_expected=b[0]['kl_floor'],
                         limit=[x['kl_ideal'] for x in b], published_one_draw=[ob.get(x['ipf']) for x in b],
                         train_s=[x.get('train_s') for x in b],     # training time so far (s), evaluation excluded
                         machine=new['machine'], wall_s=new['wall_s']))
    write_results(HERE/'results'/f'accuracy_{args.tag}.json',
                  results('accuracy', {'note': "raw KL of the generative coupling as the median [lo, hi] over draws of "
                                               "n pairs; floor: n exact pairs, drawn the same way", 'tag': args.tag},
                          rows, common_machine(rows)), indent=0, publish=True)

def merge(args):
    if args.tag: return merge_tag(args)
    if args.n_grid != 20: return merge_grid(args)
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    res = {p.stem: json.loads(p.read_text()) for p in sorted(OUT.glob('*.json'))}
    rows = keyed_rows(res, 'job')                                   # one row per job, each with its own settings and machine
    write_results(HERE/'results'/'accuracy.json',
                  results('accuracy', {'note': "one row per job (bench/results/accuracy/JOB.json): see each row's settings"},
                          rows, common_machine(rows)), indent=0, publish=True)
    gauss = sorted({k.rsplit('_', 1)[0] for k in res if k.startswith('gauss_')})
    mix = sorted({k.rsplit('_', 1)[0] for k in res if k.startswith('mix_')})
    panels = gauss + mix
    if not panels: return
    nc = 4; nr = (len(panels) + nc - 1)//nc
    fig, axs = plt.subplots(nr, nc, figsize=(3.2*nc, 2.6*nr), squeeze=False)
    for ax, key in zip(axs.flat, panels):
        for kern, c in (('dsb', 'C0'), ('exact', 'C3'), ('dsbm', 'C2'), ('auto', 'C1')):
            r = res.get(f'{key}_{kern}')
            if r is None: continue
            if key.startswith('gauss_'):
                rows = [x for x in r['rows'] if x['chain'] == 'backward']
                it = [x['ipf'] for x in rows]
                ax.plot(it, [max(x['kl_corrected'], 1e-5) for x in rows], 'o-', ms=2, c=c, label=f'trained, {kern}')
                if kern in ('dsb', 'exact'):    # DSBM's own limit is not computed (its IMF limit is the bridge)
                    ax.plot(it, [max(x['kl_ideal' if kern == 'dsb' else 'kl_ideal_exact'], 1e-5) for x in rows], '--', c=c, lw=1, label=f'limit, {kern}')
                if kern == 'dsb': ax.axhline(rows[0]['kl_floor'], c='gray', ls=':', lw=1, label='floor (raw KL of exact samples)')
                ax.set_yscale('log'); ax.set_ylabel('corrected KL', fontsize=7)
            else:
                rows = r['rows']; it = [x['ipf'] for x in rows]
                if 'draws' in rows[0]:          # the median over draws, and their range
                    dr = [x['draws'] for x in rows]
                    ax.plot(it, [x['median'] for x in dr], 'o-', ms=2, c=c, label=f'trained, {kern} (median of draws)')
                    ax.fill_between(it, [x['lo'] for x in dr], [x['hi'] for x in dr], color=c, alpha=0.2, lw=0)
                    ax.axhspan(dr[0]['floor_lo'], dr[0]['floor_hi'], color='gray', alpha=0.2, lw=0)
                    ax.axhline(dr[0]['floor'], c='gray', ls=':', lw=1, label='estimator floor')
                else:
                    ax.plot(it, [x['cbw2_uvp'] for x in rows], 'o-', ms=2, c=c, label=f'trained, {kern}')
                    ax.axhline(rows[0]['floor'], c='gray', ls=':', lw=1, label='estimator floor')
                ax.set_yscale('log'); ax.set_ylabel('cBW2-UVP (%)', fontsize=7)
        ax.set_title(key.replace('gauss_', '').replace('_', ' '), fontsize=8); ax.tick_params(labelsize=6); ax.set_xlabel('IPF iteration', fontsize=7)
    for ax in list(axs.flat)[len(panels):]: ax.axis('off')
    seen = {}                                   # one legend for every line style used in any panel
    for ax in list(axs.flat)[:len(panels)]:
        for h, l in zip(*ax.get_legend_handles_labels()): seen.setdefault(l, h)
    if len(panels) < nr*nc: axs.flat[-1].legend(list(seen.values()), list(seen), fontsize=7, loc='center')
    else: axs.flat[0].legend(list(seen.values()), list(seen), fontsize=5)
    fig.suptitle('Accuracy against exact bridges (generative chain for Gaussians, forward conditional for mixtures; CPU run)', fontsize=9)
    fig.tight_layout(); fig.savefig(HERE/'results'/'accuracy.png', dpi=80)
    publish_fig(HERE/'results'/'accuracy.png')

def choices(args):
    ("What `bridge(method='auto')` picks on every task of --suite, with rho and `block_bias`, without training: "
     "accuracy_choices.json (accuracy_choices_TAG.json with --tag)")
    import torch
    torch.set_num_threads(args.threads)
    rows = []
    for kind, spec, _ in jobs(argparse.Namespace(**{**vars(args), 'kernels': ['auto']})):
        ch = auto_solver(kind, spec, args.seed, args.n_grid)[1]
        rows.append(dict(job=name(kind, spec, 'auto'), **ch))
        print(f"{rows[-1]['job']}: {ch['method']}, rho {ch['rho']:.3g}, block_bias {ch['block_bias']}", flush=True)
    note = ("bridge()'s pick per task (auto_solver): rho on 1,000 samples, block_bias (seed 0) where the regime "
            "points to SB-CFM")
    path = HERE/'results'/f"accuracy_choices{'_' + args.tag if args.tag else ''}.json"
    write_results(path, results('accuracy', dict(seed=args.seed, note=note), rows, machine('cpu', args.threads),
                                cpu_reduced=False), publish=True)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--suite', choices=['gaussian', 'mixture', 'all'], default='all')
    p.add_argument('--dims', type=int, nargs='+', default=None,
                   help=f'Gaussian tasks of these d (default {GAUSS_DIMS}) and mixtures of these d (default both: 2, 16)')
    p.add_argument('--refs', nargs='+', default=['brownian', 'ou'], choices=['brownian', 'ou'])
    p.add_argument('--kinds', nargs='+', default=['generation', 'transfer'], choices=['generation', 'transfer'])
    p.add_argument('--kernels', nargs='+', default=['dsb', 'exact'],
                   choices=['dsb', 'exact', 'dsbm', 'dsbm-ot', 'sbcfm', 'auto'],
                   help="'dsbm': DSBM-IPF (notebook 16; Brownian and OU references), the re-anchored comparison; "
                        "'dsbm-ot': DSBM from the OT coupling; 'sbcfm': SB-CFM; 'auto': what bridge() picks")
    p.add_argument('--iters', type=int, default=20, help='IPF iterations')
    p.add_argument('--steps', type=int, default=0, help='gradient steps per half-iteration (0: the DSB default)')
    p.add_argument('--lr-schedule', default=None, choices=['cosine', 'cosine_run', 'constant'],
                   help="the trainer's lr_schedule (default: the solver's own)")
    p.add_argument('--n-eval', type=int, default=10_000)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--draws', type=int, default=5,
                   help='cBW2-UVP (mixtures) or KL (Gaussians) also as a median over this many draws (each row keeps draw 0)')
    p.add_argument('--tag', default='', help='write the per-job JSONs to results/accuracy_TAG/ (not merged into accuracy.json)')
    p.add_argument('--n-grid', type=int, default=20, help='steps N of the chain (same T); not 20: written to results/accuracy_N<n>/, merged by --merge --n-grid N')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--device', default='cpu')
    p.add_argument('--shard', default='0/1', help='i/n: run every n-th job starting at i (for parallel processes)')
    p.add_argument('--force', action='store_true', help='rerun jobs whose JSON exists')
    p.add_argument('--choices', action='store_true',
                   help="only record bridge()'s pick per task (accuracy_choices.json)")
    p.add_argument('--merge', action='store_true', help='only gather the per-job JSONs into accuracy.json and draw the PNG')
    p.add_argument('--ablation', action='store_true', help='before/after rows for each new default (two tasks)')
    p.add_argument('--knob-task', default='gauss_d2', choices=['gauss_d2', 'mix_d2', 'mix_d16'],
                   help="--knobs: the d = 2 Brownian generation task (default), or the d = 2 or d = 16 mixture")
    p.add_argument('--knob-labels', nargs='+', default=None, help='--knobs on a mixture: run only these configurations')
    p.add_argument('--knobs', action='store_true',
                   help='DSBM-IPF at d = 2 on 20 steps with one training knob changed at a time')
    args = p.parse_args()
    if args.ablation: return ablation(args)
    if args.knobs: return mix_knobs(args) if args.knob_task.startswith('mix_') else knobs(args)
    if args.choices: return choices(args)
    merge(args) if args.merge else run(args)

if __name__ == '__main__': main()
