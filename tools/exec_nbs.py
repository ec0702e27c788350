#!/usr/bin/env python
"""Execute notebooks IN PLACE and store their outputs (figures included) so the rendered docs show them.

    python tools/exec_nbs.py nbs/01_reference.ipynb [nbs/02_...ipynb ...] [--flags slow]

Cells are skipped with the rule of nbdev's `test_nb`: cells flagged with a settings.ini `tst_flags` flag (slow, gpu)
unless that flag is passed in --flags, cells with `#| eval: false`, and cells calling `nbdev_export(`. Skipped cells
are left without outputs. Each notebook runs in a fresh execnb `CaptureShell` with cwd = nbs/ and MPLBACKEND=Agg;
matplotlib figures are stored as image/png at 80 dpi, re-encoded with a 256-colour palette to keep notebooks small.
The first failing cell stops the run (exit 1, traceback printed) and that notebook is not written. Written notebooks
are passed through `nbdev_clean`.
"""
import argparse, os, sys, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
# run in the shell before the notebook: png (not 'retina', which doubles the pixels) at a modest dpi
MPL_SETUP = "set_matplotlib_formats('png')\nimport matplotlib as _mpl; _mpl.rcParams['figure.dpi'] = 80"

def skip_rule(flags):
    "A `preproc` for `CaptureShell.run_all`: True for cells not to run (nbdev `test_nb`'s rule)"
    from nbdev.process import extract_directives
    def _skip(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        direc = extract_directives(cell, remove=False)      # {'eval:': ['false'], 'slow': [], ...}
        if direc.get('eval:', [''])[0].lower() == 'false': return True
        return bool(flags & direc.keys())
    return _skip

def shrink_pngs(cell):
    "A `postproc`: re-encode the cell's PNG outputs with a 256-colour palette (about 3-4x smaller, same look)"
    import base64, io
    from PIL import Image
    for o in cell.get('outputs', []):
        if 'image/png' not in o.get('data', {}): continue
        im = Image.open(io.BytesIO(base64.b64decode(o.data['image/png']))).convert('RGBA')
        buf = io.BytesIO()
        im.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, 'PNG', optimize=True)
        o.data['image/png'] = base64.b64encode(buf.getvalue()).decode() + '\n'

def exec_nb(fn:Path, flags:set):
    "Run notebook `fn`, write it back with outputs; raise on the first failing cell"
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from nbdev.frontmatter import FrontmatterProc
    from nbdev.process import NBProcessor
    fm = getattr(NBProcessor(fn, procs=FrontmatterProc, process=True).nb, 'frontmatter_', {})
    if str(fm.get('skip_exec', '')).lower() == 'true':
        return print(f"SKIP  {fn.name} (skip_exec)")
    nb = read_nb(fn)
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs, c.execution_count = [], None    # no stale outputs on skipped cells
    sh = CaptureShell(fn)                                # puts nbs/ on sys.path, like nbdev_test
    sh.run(MPL_SETUP)
    if sh.exc: raise RuntimeError(f"matplotlib setup failed: {sh.exc!r}")
    start = time.time()
    try: sh.run_all(nb, exc_stop=True, preproc=skip_rule(flags), postproc=shrink_pngs)
    except Exception: raise RuntimeError(sh.prettytb(fname=fn)) from None
    write_nb(nb, fn)
    kb = fn.stat().st_size / 1024
    print(f"OK    {fn.name}  ({time.time() - start:.0f}s, {kb:.0f} KB)", flush=True)
    if kb > 200: print(f"WARNING {fn.name} is over 200 KB: fewer/smaller figures, or `#| eval: false` on big ones")

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='+', help='notebooks to execute in place')
    p.add_argument('--flags', default='', help='space-separated test flags whose cells should run too (slow, gpu)')
    a = p.parse_args()
    from nbdev.config import get_config
    from nbdev.clean import nbdev_clean
    files = [Path(f).resolve() for f in a.paths]
    if missing := [str(f) for f in files if not f.exists()]: sys.exit(f"not found: {', '.join(missing)}")
    flags = set(get_config(path=root).tst_flags.split()) - set(a.flags.split())
    os.environ['MPLBACKEND'] = 'Agg'
    from test_nbs import use_local_data; use_local_data(root)      # the same datasets as the test runner
    os.chdir(root/'nbs')
    for f in files:
        try: exec_nb(f, flags)
        except RuntimeError as e: sys.exit(f"FAIL  {f.name}: not written\n{e}")
        nbdev_clean.__wrapped__(fname=str(f))
    print(f"executed {len(files)} notebook(s)")

if __name__ == '__main__': main()
