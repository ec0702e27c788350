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

def cpu_model()->str:
    "The CPU's model name (Linux: /proc/cpuinfo), or '' where it cannot be read: step rates differ 3x between models"
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return ''
