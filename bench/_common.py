"Helpers shared by the benchmark scripts (run them as `python bench/NAME.py`, which puts this folder on sys.path)."
import shutil
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def publish_fig(png:Path)->Path:
    "Copy a results figure to nbs/figs/bench_NAME.png, where the book includes it from (nbs/ is what the site publishes)"
    png = Path(png)
    dest = root/'nbs'/'figs'/f'bench_{png.stem}.png'
    dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(png, dest)
    return dest

def publish_json(path:Path)->Path:
    "Copy a results JSON to nbs/results/NAME.json, where the notebooks read it (files outside nbs/ are not on the published site)"
    path = Path(path)
    dest = root/'nbs'/'results'/path.name
    dest.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(path, dest)
    return dest

def use_local_data():
    "Point DSB_NB_DATA at the project's local dataset copy (../shared/data beside the clone) unless it is set already"
    import os
    shared = root.parent/'shared'/'data'
    if 'DSB_NB_DATA' not in os.environ and (shared/'MNIST'/'raw').is_dir(): os.environ['DSB_NB_DATA'] = str(shared)
