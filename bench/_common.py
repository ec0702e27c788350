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
