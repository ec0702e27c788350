#!/usr/bin/env python
""""Run all" of each training notebook as on a fresh Colab runtime, against a wheel built here: the check that the
notebooks work for a reader who has nothing but the notebook and the package index.

    python -m build --outdir /tmp/dist .                                            # in the clone: sdist + wheel
    python -m venv /tmp/colab && /tmp/colab/bin/pip install nbclient ipykernel      # the stand-in runtime: a kernel, no dsb_nb
    /tmp/colab/bin/python tools/check_colab.py --wheel /tmp/dist/dsb_nb-*.whl --training        # or notebooks by path

For each notebook: copy it alone into a new temporary folder outside the repository (no settings.ini, dsb_nb/, figs/
or results/ beside it), keep its install cell (found by tools/colab_cells.py's MARKER) and the cells that nbdev's tests
run (not `#| eval: false`, not flagged with one of settings.ini's `tst_flags`: slow, gpu), and run them in order in a
new Jupyter kernel of this Python, in that folder, with $DSB_NB_WHEEL pointing the install cell at the wheel; a last
cell checks that dsb_nb came from site-packages. Any error fails that notebook, and the next one still runs. The
installs pile up in this environment as they would on one Colab runtime, so the notebooks run in order of what their
install cells add: no extra first, then `images`, then `widgets`, so that only a notebook that installs ipywidgets
itself runs with it. Exit 1 if any notebook failed.

Data: notebooks that need MNIST look in $DSB_NB_DATA (tools/test_nbs.py's `use_local_data` sets it to the copy beside
the clone); without it their data cells skip, which is checked too. Nothing is fetched from the network but what pip
installs from the package index. Run it with the python of a separate virtual environment (it installs the wheel and
the notebooks' extras into it), never the clone's development one.
"""
from __future__ import annotations
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'tools'))
from colab_cells import MARKER, TRAINING, requirements, settings
from test_nbs import use_local_data

_dir_re = re.compile(r'^\s*#\s*\|\s*(.*?)\s*$')
_ansi = re.compile(r'\x1b\[[0-9;]*m')                              # colours of IPython's tracebacks
KERNEL = 'dsb_nb_check'
LAST = ("import dsb_nb, pathlib\n"
        "assert 'site-packages' in pathlib.Path(dsb_nb.__file__).parts, f'dsb_nb imported from {dsb_nb.__file__}, not from the wheel'")

def directives(src:str)->dict:
    "The nbdev directives at the top of a cell: '#| eval: false' -> {'eval:': 'false'}, '#| slow' -> {'slow': ''}"
    out = {}
    for line in src.splitlines():
        if not line.strip(): continue
        m = _dir_re.match(line)
        if not m: break
        k, _, v = m[1].partition(' ')
        out[k] = v.strip().lower()
    return out

def runs(cell, flags)->bool:
    "Whether 'Run all' here runs `cell`: the install cell, and every code cell that nbdev's tests run"
    if cell.cell_type != 'code': return False
    if MARKER in cell.source: return True
    d = directives(cell.source)
    return d.get('eval:') != 'false' and not (set(flags) & set(d))

def write_kernelspec(d:Path):
    "A kernelspec for this Python under `d` (JUPYTER_PATH points there, so no other installed kernel is picked)"
    k = d/'kernels'/KERNEL; k.mkdir(parents=True)
    (k/'kernel.json').write_text(json.dumps({'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
                                             'display_name': 'dsb_nb check', 'language': 'python'}))

def run_nb(path:Path, flags, timeout:int, out:Path|None=None)->tuple[bool, str]:
    "Run the kept cells of notebook `path` alone in a temporary folder; (ok, message)"
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from jupyter_client import KernelManager
    nb = nbformat.read(path, as_version=4)
    if not any(MARKER in c.source for c in nb.cells if c.cell_type == 'code'):
        return False, f"no install cell ({MARKER!r}): run tools/colab_cells.py on it"
    nb.cells = [c for c in nb.cells if runs(c, flags)] + [nbformat.v4.new_code_cell(LAST)]
    for i, c in enumerate(nb.cells): c['id'] = f'c{i}'
    with tempfile.TemporaryDirectory(prefix=f'colab_{path.stem}_') as d:
        shutil.copy(path, d)                                          # the notebook alone, as Colab has it
        km = KernelManager(kernel_name=KERNEL, transport='ipc', ip=str(Path(d)/'.kernel'))   # local sockets: no TCP port
        client = NotebookClient(nb, km=km, timeout=timeout, resources={'metadata': {'path': d}})
        try: client.execute(); ok, msg = True, f"{len(nb.cells) - 1} cells"
        except CellExecutionError as e: ok, msg = False, _ansi.sub('', str(e))[-4000:]
        except Exception as e: ok, msg = False, f"{type(e).__name__}: {e}"
        finally:
            if km.has_kernel: km.shutdown_kernel(now=True)          # ours, not nbclient's: stop it before the next notebook
    if out is not None: out.mkdir(parents=True, exist_ok=True); nbformat.write(nb, out/path.name)
    return ok, msg

def order(paths):
    "Notebooks in the order described above: those adding no extra, then images, then widgets (stable otherwise)"
    import nbformat
    def key(p):
        extras = requirements(nbformat.read(p, as_version=4))[0]
        return ('widgets' in extras, bool(extras))
    return sorted(paths, key=key)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', help='notebooks to check')
    p.add_argument('--training', action='store_true', help='add every notebook of tools/colab_cells.py TRAINING')
    p.add_argument('--wheel', required=True, help='the dsb_nb wheel the install cells get ($DSB_NB_WHEEL)')
    p.add_argument('--timeout', type=int, default=1200, help='seconds one cell may run (default 1200)')
    p.add_argument('--out', help='write the executed notebooks (kept cells and their outputs) to this folder')
    a = p.parse_args()
    paths = [Path(x).resolve() for x in a.paths] + ([root/'nbs'/f'{n}.ipynb' for n in TRAINING] if a.training else [])
    if not paths: p.error('no notebooks given (paths or --training)')
    wheel = Path(a.wheel).resolve()
    if not wheel.is_file() or wheel.suffix != '.whl': p.error(f'--wheel {a.wheel}: not a wheel file')
    if Path(sys.prefix).resolve().is_relative_to(root):
        sys.exit(f"{sys.executable} belongs to the clone: run this with a separate virtual environment's python (it installs into it)")
    use_local_data(root)
    flags = settings()['tst_flags'].split()
    os.environ.pop('PYTHONPATH', None)                                # the kernel must not see the clone
    os.environ.update(DSB_NB_WHEEL=str(wheel), DSB_NB_DRIVE='0')     # the install cell's wheel; never ask about Drive
    subprocess.run([sys.executable, '-m', 'pip', 'uninstall', '-q', '-y', 'dsb_nb'], capture_output=True)   # the install cell installs it
    failed, t_all = [], time.time()
    with tempfile.TemporaryDirectory(prefix='colab_kernel_') as kd:
        write_kernelspec(Path(kd))
        os.environ['JUPYTER_PATH'] = os.pathsep.join([kd, *filter(None, [os.environ.get('JUPYTER_PATH')])])
        for f in order(paths):
            t0 = time.time()
            with tempfile.TemporaryDirectory(prefix='colab_ckpt_') as ck:
                os.environ['DSB_NB_CKPT'] = ck
                ok, msg = run_nb(f, flags, a.timeout, Path(a.out) if a.out else None)
            print(f"{'PASS' if ok else 'FAIL'}  {f.name}  ({time.time() - t0:.0f}s, {msg if ok else 'error below'})", flush=True)
            if not ok: print(msg, flush=True); failed.append(f.name)
    n = len(paths)
    print(f"check_colab: {n - len(failed)} of {n} notebook(s) ran green alone against {wheel.name} in {time.time() - t_all:.0f}s"
          + (f"; failed: {', '.join(failed)}" if failed else ''))
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
