#!/usr/bin/env python
"""Run every notebook's tests (the README's test command) and print a closing `N passed, N failed` line.

nbdev's own `nbdev_test` prints only "Success."; this runner calls the same per-notebook function (`nbdev.test.test_nb`),
one notebook at a time so that torch may use every core, and counts notebooks.

    python tools/test_nbs.py                  # default run (cells flagged `#| slow` / `#| gpu` are skipped)
    python tools/test_nbs.py --flags slow     # also run the slow cells
    python tools/test_nbs.py nbs/03*.ipynb    # only some notebooks
"""
import argparse, os, sys, time
from pathlib import Path

def use_local_data(root:Path):
    "Point DSB_NB_DATA at the project's local dataset copy (../shared/data beside the clone) unless it is set already"
    shared = root.parent/'shared'/'data'
    if 'DSB_NB_DATA' not in os.environ and (shared/'MNIST'/'raw').is_dir(): os.environ['DSB_NB_DATA'] = str(shared)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', help='notebooks to test (default: every nbs/*.ipynb not starting with _)')
    p.add_argument('--flags', default='', help='space-separated test flags to run that are skipped by default (slow, gpu)')
    args = p.parse_args()
    root = Path(__file__).resolve().parent.parent
    os.environ.setdefault('MPLBACKEND', 'Agg'); use_local_data(root)
    from nbdev.config import get_config
    from nbdev.test import test_nb
    cfg = get_config(path=root)
    skip, force = cfg.tst_flags.split(), args.flags.split()
    files = [Path(f).resolve() for f in args.paths] or sorted(f for f in (root/'nbs').glob('*.ipynb') if not f.name.startswith('_'))
    if not files: sys.exit('no notebooks found')
    results = []
    os.chdir(root/'nbs')
    for f in files:
        ok, secs = test_nb(f, skip_flags=skip, force_flags=force, basepath=root)
        results.append((f.name, ok, secs))
        print(f"{'PASS' if ok else 'FAIL'}  {f.name}  ({secs:.0f}s)", flush=True)
    n_ok = sum(ok for _, ok, _ in results)
    print(f"\n{n_ok} passed, {len(results) - n_ok} failed")
    sys.exit(0 if n_ok == len(results) else 1)

if __name__ == '__main__': main()
