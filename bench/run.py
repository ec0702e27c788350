#!/usr/bin/env python
"""One entry point for every benchmark: `python bench/run.py NAME [its options]`.

    python bench/run.py                      # list the benchmarks, each with the first line of its description
    python bench/run.py regimes --jobs 2     # run bench/regimes.py with these options
    python bench/run.py accuracy --help      # a benchmark's own options
    python bench/run.py --check              # every results JSON (bench/results, nbs/results) is in the shared layout
    python bench/run.py --upgrade            # rewrite results JSONs written before the shared layout into it

Each benchmark writes its JSON through one helper, `_common.write_results`, in one layout (`_common.SHARED_KEYS`:
bench, layout, cpu_reduced, machine, settings, rows, references, then its own keys), draws its figure under
bench/results/, and copies what the book shows into nbs/results and nbs/figs. `_common.read_results` reads any of
them, converting a file written before the layout on the fly (`_common.upgrade`).
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

def results_files()->list:
    "Every committed results JSON: bench/results/*.json and the book's copies in nbs/results/"
    return sorted(HERE.glob('results/*.json')) + sorted((HERE.parent/'nbs'/'results').glob('*.json'))

def check()->int:
    "Read every results JSON as stored (no conversion) and check the shared layout; print one line per file"
    import json
    sys.path.insert(0, str(HERE)); from _common import check_layout
    files, bad = results_files(), 0
    for f in files:
        try: r = check_layout(json.loads(f.read_text()), str(f.relative_to(HERE.parent)))
        except (ValueError, TypeError) as e: bad += 1; print('FAIL', e); continue
        print(f"ok   {f.relative_to(HERE.parent)}: {r['bench']}, {len(r['rows'])} rows")
    print(f"{len(files) - bad} in the shared layout, {bad} not")
    return 1 if bad else 0

def upgrade()->int:
    "Rewrite every results JSON written before the shared layout into it (values moved, not changed)"
    import json
    sys.path.insert(0, str(HERE)); from _common import read_results, write_results
    for f in results_files():
        old = json.loads(f.read_text())
        if 'layout' in old: continue
        write_results(f, read_results(f), indent=0 if f.stem == 'accuracy' else 1); print('upgraded', f)
    return 0

def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--check']: sys.exit(check())
    if argv[:1] == ['--upgrade']: sys.exit(upgrade())
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
