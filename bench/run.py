#!/usr/bin/env python
"""One entry point for every benchmark: `python bench/run.py NAME [its options]`.

    python bench/run.py                      # list the benchmarks, each with the first line of its description
    python bench/run.py regimes --jobs 2     # run bench/regimes.py with these options
    python bench/run.py accuracy --help      # a benchmark's own options

Each benchmark writes its JSON (with the machine record of `_common.machine`, its settings and its rows) and figure
under bench/results/, and copies what the book shows into nbs/results and nbs/figs.
"""
import subprocess, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

def benchmarks()->dict:
    "{name: first line of the script's docstring} for every bench/*.py script except this one and the shared helpers"
    out = {}
    for f in sorted(HERE.glob('*.py')):
        if f.name.startswith('_') or f.name == 'run.py': continue
        doc = (f.read_text().split('"""', 2)[1] if '"""' in f.read_text() else '').strip().splitlines()
        out[f.stem] = doc[0] if doc else ''
    return out

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = benchmarks()
    if not argv or argv[0] in ('-h', '--help'):
        print(__doc__)
        for k, v in names.items(): print(f"  {k:10s} {v}")
        return
    name, rest = argv[0], argv[1:]
    if name not in names: sys.exit(f"Unknown benchmark {name!r}: expected one of {sorted(names)}")
    # its own process, so that a benchmark's worker processes find their functions
    sys.exit(subprocess.run([sys.executable, str(HERE/f'{name}.py'), *rest]).returncode)

if __name__ == '__main__': main()
