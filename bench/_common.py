"Helpers shared by the benchmark scripts (run them as `python bench/NAME.py`, which puts this folder on sys.path)."
import shutil
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def _published(p:Path)->bool:
    "Only results written into bench/results are the book's: a run sent elsewhere (--out /tmp/...) is not copied"
    return Path(p).resolve().parent == (root/'bench'/'results').resolve()

def publish_fig(png:Path)->Path|None:
    "Copy a results figure to nbs/figs/bench_NAME.png, where the book includes it from (nbs/ is what the site publishes)"
    png = Path(png)
    if not _published(png): return None
    dest = root/'nbs'/'figs'/f'bench_{png.stem}.png'
    dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(png, dest)
    return dest

def publish_json(path:Path)->Path|None:
    "Copy a results JSON to nbs/results/NAME.json, where the notebooks read it (files outside nbs/ are not on the published site)"
    path = Path(path)
    if not _published(path): return None
    dest = root/'nbs'/'results'/path.name
    dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(path, dest)
    return dest

def use_local_data():
    "The test runner's `use_local_data` (tools/test_nbs.py) for this clone: the same datasets as the tests"
    import sys
    sys.path.insert(0, str(root/'tools'))
    from test_nbs import use_local_data as _use
    _use(root)

def dsb_defaults(keys)->dict:
    "`DSB`'s own default of each argument in `keys`, read from its signature (so a benchmark records what it ran)"
    import inspect
    from dsb_nb.dsb import DSB
    sig = inspect.signature(DSB.__init__).parameters
    return {k: sig[k].default for k in keys}

def machine(device:str='cpu', threads:int|None=None)->dict:
    "The machine record every results JSON carries: where and with what the numbers were measured"
    import os, platform, torch
    dev = device if not str(device).startswith('cuda') else torch.cuda.get_device_name(device)
    return dict(device=dev, processor=platform.processor() or platform.machine(), cpu_model=cpu_model(), cpu_count=os.cpu_count(),
                torch_threads=threads if threads is not None else torch.get_num_threads(), torch=torch.__version__,
                python=platform.python_version(), platform=platform.platform())

def ot_bridge_midpoint(x0, x1, gammas, alpha:float=0., block:int=4096, gen=None, noise_gen=None):
    """Midpoints (step N/2) of the reference's bridges through pairs of the entropic OT plan between `x0` and `x1`
    ((n, d) each, as many of one as of the other): what a perfect solver of the same Schrödinger bridge predicts there.
    The plan's regulariser is twice the reference's variance at the end (the static SB's); `gen` draws the pairs,
    `noise_gen` (default `gen`) the bridge noise, in float32 for every caller. Returns float64 (n, d)."""
    import torch
    from dsb_nb.dsbm import ot_pairs, linear_bridge_coeffs
    from dsb_nb.reference import marginal_coeffs
    a, s = marginal_coeffs(gammas.double(), alpha)
    p0, p1 = ot_pairs(x0, x1, 2*s[-1].item(), block=min(len(x0), block), gen=gen, a=a[-1].item())
    c, k = linear_bridge_coeffs(gammas, alpha), len(gammas)//2
    z = torch.randn(p0.shape, generator=noise_gen or gen)
    return c['u'][k]*p0.double() + c['w'][k]*p1.double() + c['sd'][k]*z.double()

def pca_basis(x, k:int):
    "Top `k` principal directions of centred rows `x`, largest first: the exact, deterministic PCA (`eigh` of `x.T@x`)"
    import torch
    return torch.linalg.eigh((x.T@x).double())[1][:, -k:].flip(1).to(x.dtype)

def cpu_model()->str:
    "The CPU's model name (Linux: /proc/cpuinfo), or '' where it cannot be read: step rates differ 3x between models"
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return ''

# --- One results layout ------------------------------------------------------------------------------------------
# Every bench/results/*.json is one dict that starts with these keys, written by `write_results` and read back by
# `read_results`; a benchmark may add its own keys after them (notes, targets, a sub-study), never instead of them.
LAYOUT = 1
SHARED_KEYS = {'bench': str,          # the script that wrote it (bench/NAME.py)
               'layout': int,         # LAYOUT at the time of writing
               'cpu_reduced': bool,   # true: shrunk to fit a small CPU, not the paper-sized experiment
               'machine': dict,       # where the numbers were measured (`machine()`)
               'settings': dict,      # what ran: sizes, budgets, seeds, configurations
               'rows': list,          # the measurements: one dict per run, or per task x solver (curves inside)
               'references': dict}    # what a reader compares rows with: exact answers, limits, floors, others' numbers

def results(bench:str, settings:dict, rows:list, machine:dict, references:dict|None=None,
            cpu_reduced:bool=True, **extra)->dict:
    "A results dict in the shared layout (`SHARED_KEYS` first, then `extra`); `machine`: e.g. `machine(device, threads)`"
    return check_layout(dict(bench=bench, layout=LAYOUT, cpu_reduced=cpu_reduced, machine=machine, settings=settings,
                             rows=list(rows), references=references or {}, **extra))

def check_layout(res:dict, where:str='results')->dict:
    "Raise a ValueError naming what `res` lacks, or has with the wrong type, of the shared layout; returns `res`"
    if not isinstance(res, dict): raise TypeError(f"{where} must be a dict in the shared layout, got {type(res).__name__}")
    if miss := [k for k in SHARED_KEYS if k not in res]: raise ValueError(f"{where} lack the shared keys {miss}")
    if bad := [f'{k} ({type(res[k]).__name__}, expected {t.__name__})' for k, t in SHARED_KEYS.items()
               if not isinstance(res[k], t)]:
        raise ValueError(f"{where} have ill-typed shared keys: {', '.join(bad)}")
    if bad := [i for i, r in enumerate(res['rows']) if not isinstance(r, dict)]:
        raise ValueError(f"{where}: rows must be dicts; rows {bad[:5]} are not")
    return res

def write_results(path, res:dict, indent:int=1, publish:bool=False)->Path:
    "Write `res` (checked against the shared layout) to `path` atomically (a kill leaves the old file); `publish`: copy to nbs/"
    import json, os
    path = Path(path); check_layout(res, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp'); tmp.write_text(json.dumps(res, indent=indent)); os.replace(tmp, path)
    if publish: publish_json(path)
    return path

def read_results(path)->dict:
    "A results JSON in the shared layout; one written before it (layout 0) is converted by `upgrade`, numbers unchanged"
    import json
    path = Path(path); res = json.loads(path.read_text())
    return check_layout(res if 'layout' in res else upgrade(res, path.stem), str(path))

_MACHINE_KEYS = ('device', 'processor', 'cpu_model', 'cpu_count', 'torch_threads', 'threads', 'torch', 'python', 'platform')

def keyed_rows(d:dict, key:str)->list:
    "{name: record} -> [{key: name, **record}], the order kept"
    return [{key: k, **v} if isinstance(v, dict) else {key: k, 'value': v} for k, v in d.items()]

def upgrade(old:dict, name:str)->dict:
    "Convert a results dict written before the shared layout (file stem `name`) into it: values moved, none changed"
    o = dict(old)
    bench = next(b for b in ('toys2d', 'speed', 'accuracy', 'gaussian', 'mnist', 'regimes', 'solvers', 'defaults',
                             'transfer', 'gpu', '') if name.startswith(b))
    if name == 'toys2d_authors': bench = 'toys2d'
    mach = o.pop('machine', None) or {k: o.pop(k) for k in _MACHINE_KEYS if k in o}
    cpu_reduced = o.pop('cpu_reduced', name not in ('toys2d_authors', 'speed', 'speed_steps', 'defaults'))  # full-size there
    settings = o.pop('settings', None) or o.pop('config', None) or o.pop('setting', None) or {}
    if not isinstance(settings, dict): settings = {'setting': settings}
    refs = o.pop('references', None) or {}
    if 'authors' in o: refs['authors'] = o.pop('authors')
    if 'rows' in o: rows = o.pop('rows')
    elif 'results' in o: rows = keyed_rows(o.pop('results'), 'job')                       # accuracy.json: one row per job
    elif 'configs' in o: rows = keyed_rows(o.pop('configs'), 'config')                    # gaussian*.json
    elif 'runs' in o: rows = keyed_rows(o.pop('runs'), 'run')                             # toys2d_authors / speed
    elif 'cases' in o: rows = keyed_rows(o.pop('cases'), 'case')                          # speed_steps
    elif 'generation' in o:                                                            # toys2d*.json
        rows = keyed_rows(o.pop('generation'), 'dataset')
        for r in rows: r['task'] = 'generation'
        rows.append({'task': 'transfer', **o.pop('transfer')})
    elif bench == 'transfer': rows = keyed_rows({k: o.pop(k) for k in list(o)}, 'run')   # {run name: run record}
    else: rows = []
    for k in ('iters', 'repeats', 'n_steps', 'seeds', 'default_lr', 'defaults'):
        if k in o and k not in settings: settings[k] = o.pop(k)
    if not mach: mach = common_machine(rows)
    return dict(bench=bench, layout=LAYOUT, cpu_reduced=cpu_reduced, machine=mach, settings=settings, rows=rows,
                references=refs, **o)

def common_machine(rows:list)->dict:
    "The machine record of a file whose rows each carry their own (separate jobs): what all rows share, flagged per_row"
    ms = [r['machine'] for r in rows if isinstance(r.get('machine'), dict)]
    if not ms: return {'note': 'not recorded in this file; see each row (threads, load)'}
    return {'per_row': True, **{k: v for k, v in ms[0].items() if all(m.get(k) == v for m in ms)}}
