#!/usr/bin/env python
"""Write, idempotently, the Colab parts of a training notebook: an "Open in Colab" badge, a first code cell that
installs what "Run all" needs and calls `dsb_nb.setup.colab_setup()`, a final `nbdev_export` cell guarded to run only
in a clone, and the notebook metadata that asks Colab for a GPU runtime (COLAB_META).

    python tools/colab_cells.py nbs/11_mnist.ipynb nbs/12_transfer.ipynb    # update these notebooks in place
    python tools/colab_cells.py --training                                  # every notebook that trains (TRAINING), and 00's example
    python tools/colab_cells.py --check --training                          # exit 1 if any notebook would change
    python tools/colab_cells.py --guard-only nbs/*.ipynb                    # only the guarded nbdev_export cell

The install cell works before and after the release of settings.ini's `version` V: it installs `dsb_nb[extras]==V`
from PyPI when the index has it, else the same version from the repository of settings.ini's `git_url` (`git+...@vV`
when the tag exists, else pinned to the commit `branch` is at), and prints which it did; `$DSB_NB_WHEEL` (a wheel
file) replaces both, which is how tools/check_colab.py runs it against a freshly built wheel. It then calls
`colab_setup(extras=[...])`, which imports every package of those extras at once, so that a missing one, or a
torchvision built for another torch, stops "Run all" at the first cell with the command that fixes it (notebook 00).

What the install cell installs is worked out from the notebook, not listed by hand: the optional packages imported by
its code cells and by the dsb_nb modules it uses (its `default_exp` module and every `dsb_nb.X` it imports, followed
through their own `from .Y import`s, including `need('...')` calls) are mapped to the package's extras (`images`,
`widgets`); other third-party imports must be runtime dependencies (or their dependencies), or fastcore, which the
hidden test cells import and which is installed with the version range of settings.ini (its `dev` extra). An unknown
import is an error: add it to KNOWN. Cells are found by their content (the badge by `colab-badge.svg`, the install cell
by MARKER, the export cell by `nbdev_export(`), so running the script twice changes nothing; cell ids of existing cells
are kept and new cells get ids derived from the notebook name. Notebooks are written with nbformat. The metadata keys
of COLAB_META must be listed in settings.ini's `allowed_metadata_keys`, or `nbdev_clean` would remove them.
"""
import argparse, ast, configparser, hashlib, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
TRAINING = ['03_score_matching', '06_dsb', '07_gaussian', '08_toys_2d', '11_mnist', '12_transfer', '13_celeba', '14_ode',
            '15_continuous_ipf', '16_dsbm', '17_sbcfm', '18_solvers', '19_accuracy']
MARKER = '# Colab or a fresh machine:'
# notebook metadata read by Colab: open on a GPU runtime (the free tier's T4)
COLAB_META = {'accelerator': 'GPU', 'colab': {'gpuType': 'T4', 'provenance': []}}
# import name -> ('extra', name) or ('pkg', pip names) or ('runtime', None): what makes it importable after the install;
# pip names get settings.ini's version range (`pip_spec`). nbdev: for `show_doc` of methods (the guarded export cell
# does not count), with the execnb its pinned version works with
KNOWN = {'torchvision': ('extra', 'images'), 'sklearn': ('extra', 'images'), 'torch_fidelity': ('extra', 'images'),
         'ipywidgets': ('extra', 'widgets'), 'fastcore': ('pkg', 'fastcore'), 'nbdev': ('pkg', 'nbdev execnb'),
         'torch': ('runtime', None), 'numpy': ('runtime', None), 'matplotlib': ('runtime', None), 'tqdm': ('runtime', None),
         'ot': ('runtime', None), 'scipy': ('runtime', None), 'PIL': ('runtime', None), 'IPython': ('runtime', None),
         'dsb_nb': ('runtime', None)}
GUARD = ("#| hide\nimport os\n"
         "if os.path.exists('../settings.ini'): import nbdev; nbdev.nbdev_export()   # only in a clone of the repo, not on Colab")
_dir_re = re.compile(r'^\s*#\s*\|\s*(.*)$')

def settings():
    c = configparser.ConfigParser(); c.read(root/'settings.ini'); return c['DEFAULT']

def version(): return settings()['version']

def _name(req:str)->str: return re.split(r'[<>=!~;\[ ]', req, maxsplit=1)[0].lower().replace('_', '-')

def pip_spec(pkg:str)->str:
    "`pkg` with the version range settings.ini gives it (in any `*requirements` key), e.g. 'fastcore>=1.12.3,<2'"
    cfg = settings()
    reqs = [r for k in cfg if k.endswith('requirements') for r in cfg[k].split()]
    return next((r for r in reqs if _name(r) == _name(pkg)), pkg)

def colab_url(name:str)->str:
    "The notebook `name` opened in Colab from settings.ini's repository and branch"
    cfg = settings()
    return cfg['git_url'].replace('https://github.com/', 'https://colab.research.google.com/github/').rstrip('/') + f"/blob/{cfg['branch']}/nbs/{name}.ipynb"

def _imports(src:str, need=False):
    "Names imported by python source `src` (IPython `!`/`%` lines dropped), plus need('x...') targets if `need`"
    src = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('!', '%')))
    try: tree = ast.parse(src)
    except SyntaxError: return set(), set()
    mods, rel = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import): mods |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom):
            if n.level: rel.add(n.module or '')
            else: mods.add(n.module)
        elif need and isinstance(n, ast.Call) and getattr(n.func, 'id', None) == 'need' and n.args and isinstance(n.args[0], ast.Constant):
            mods.add(n.args[0].value)
    return mods, rel

def _lazy(tree):
    "(function name, imported module) for imports inside top-level functions/classes of a module's AST"
    out = []
    for d in tree.body:
        if isinstance(d, (ast.FunctionDef, ast.ClassDef)):
            for n in ast.walk(d):
                if isinstance(n, ast.Import): out += [(d.name, a.name) for a in n.names]
                elif isinstance(n, ast.ImportFrom) and not n.level: out.append((d.name, n.module))
                elif isinstance(n, ast.Call) and getattr(n.func, 'id', None) == 'need' and n.args and isinstance(n.args[0], ast.Constant):
                    out.append((d.name, n.args[0].value))
    return out

def _module_closure(names, nb_src:str):
    """Optional/third-party imports of dsb_nb modules `names`, following their relative and dsb_nb imports. An import
    inside a function counts only if that function's name appears in the notebook or in another module of the closure"""
    seen, todo, found, lazy, srcs = set(), list(names), set(), [], {}
    while todo:
        m = todo.pop()
        if m in seen: continue
        seen.add(m)
        f = root/'dsb_nb'/f'{m}.py'
        if not f.exists(): continue
        srcs[m] = f.read_text()
        tree = ast.parse(srcs[m])
        lazy += [(m, fn, x) for fn, x in _lazy(tree)]
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        for n in top:
            if isinstance(n, ast.ImportFrom) and n.level: todo.append((n.module or '').split('.')[0])
            elif isinstance(n, ast.ImportFrom): mods = [n.module]
            else: mods = [a.name for a in n.names]
            if isinstance(n, ast.ImportFrom) and n.level: continue
            for x in mods:
                if x.startswith('dsb_nb.'): todo.append(x.split('.')[1])
                elif x != 'dsb_nb': found.add(x.split('.')[0])
    for m, fn, x in lazy:
        others = nb_src + ''.join(v for k, v in srcs.items() if k != m)
        if re.search(rf'\b{re.escape(fn)}\b', others) and not x.startswith(('.', 'dsb_nb')): found.add(x.split('.')[0])
    return found

def requirements(nb):
    "(sorted extras, sorted extra pip packages) that running every cell of `nb` needs"
    top, used, code = set(), set(), []
    for c in nb.cells:
        if c.cell_type != 'code' or 'nbdev_export(' in c.source or MARKER in c.source: continue
        for l in c.source.splitlines():
            m = _dir_re.match(l)
            if m and m[1].startswith('default_exp'): used.add(m[1].split()[1])
        code.append(c.source)
        mods, _ = _imports(c.source)
        for x in mods:
            if x.startswith('dsb_nb.'): used.add(x.split('.')[1])
            top.add(x.split('.')[0])
    top |= _module_closure(used, '\n'.join(code))
    extras, pkgs, unknown = set(), set(), []
    for x in sorted(top):
        if x in sys.stdlib_module_names or x == '__future__': continue
        kind, name = KNOWN.get(x, (None, None))
        if kind == 'extra': extras.add(name)
        elif kind == 'pkg': pkgs |= set(name.split())
        elif kind is None: unknown.append(x)
    if unknown: raise SystemExit(f"unknown imports {unknown}: add them to KNOWN in {Path(__file__).name}")
    return sorted(extras), sorted(pkgs)

def install_cell(nb):
    "The source of the notebook's first code cell (see the module docstring)"
    extras, pkgs = requirements(nb)
    cfg, v = settings(), version()
    x = f"[{','.join(extras)}]" if extras else ''
    more = ''.join(f", '{pip_spec(p)}'" for p in pkgs)
    setup = f"colab_setup(extras={extras!r})" if extras else "colab_setup()"
    return f"""#| eval: false
{MARKER} install dsb_nb {v} and what "Run all" needs: from PyPI, or before that release from
# the repository (tag v{v}, else the commit {cfg['branch']} is on); $DSB_NB_WHEEL: a local wheel. Then choose the folders and
# the precision (notebook 00); on Colab this asks before mounting Google Drive. Skipped by the tests.
import importlib, importlib.metadata, os, shutil, subprocess, sys
V, X, REPO = '{v}', '{x}', '{cfg['git_url'].rstrip('/')}'
def pip(req): return subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', req{more}], capture_output=True, text=True)
def remote(ref): return subprocess.run(['git', 'ls-remote', REPO, ref], capture_output=True, text=True).stdout.split() if shutil.which('git') else []
if os.environ.get('DSB_NB_WHEEL'): src = os.path.abspath(os.environ['DSB_NB_WHEEL']); r = pip(f'dsb_nb{{X}} @ file://{{src}}')
elif (r := pip(f'dsb_nb{{X}}=={{V}}')).returncode == 0: src = 'PyPI'
else:
    ref = f'v{{V}}' if remote(f'refs/tags/v{{V}}') else (remote('refs/heads/{cfg['branch']}') or ['{cfg['branch']}'])[0]
    src = f'{{REPO}} at {{ref}}'; r = pip(f'dsb_nb{{X}} @ git+{{REPO}}@{{ref}}')
if r.returncode: raise RuntimeError(f"pip could not install dsb_nb{{X}} from {{src}}:\\n{{r.stderr}}")
importlib.invalidate_caches()
print(f"dsb_nb{{X}} {{importlib.metadata.version('dsb_nb')}} installed from {{src}}")
from dsb_nb.setup import colab_setup
env = {setup}
env"""

def badge_cell(name):
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(name)})"

def _new(nbformat, kind, src, name, tag):
    c = nbformat.v4.new_markdown_cell(src) if kind == 'md' else nbformat.v4.new_code_cell(src)
    c['id'] = hashlib.md5(f'{name}:{tag}'.encode()).hexdigest()[:8]
    return c

def update(path:Path, guard_only=False):
    "Rewrite the notebook's Colab cells; returns True if it changed"
    import nbformat
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    name = path.stem
    for c in nb.cells:
        if c.cell_type == 'code' and 'nbdev_export(' in c.source and c.source != GUARD: c.source = GUARD
    if not guard_only:
        title = next((i for i, c in enumerate(nb.cells) if c.cell_type == 'markdown' and c.source.lstrip().startswith('# ')), None)
        if title is None: raise SystemExit(f"{path}: no '# Title' markdown cell")
        b = next((c for c in nb.cells if c.cell_type == 'markdown' and 'colab-badge.svg' in c.source), None)
        if b is None: b = _new(nbformat, 'md', '', name, 'badge'); nb.cells.insert(title + 1, b)
        b.source = badge_cell(name)
        ic = next((c for c in nb.cells if c.cell_type == 'code' and (MARKER in c.source or
                   ('eval: false' in c.source and '!pip install' in c.source and 'dsb_nb' in c.source))), None)
        if ic is None:
            ic = _new(nbformat, 'code', '', name, 'install'); nb.cells.insert(nb.cells.index(b) + 1, ic)
        ic.source, ic.outputs, ic.execution_count = install_cell(nb), [], None
        missing = set(COLAB_META) - set(settings().get('allowed_metadata_keys', '').split())
        if missing: raise SystemExit(f"add {sorted(missing)} to settings.ini's allowed_metadata_keys, or nbdev_clean removes them")
        nb.metadata.update(COLAB_META)
    after = nbformat.writes(nb)
    if after != before: path.write_text(after if after.endswith('\n') else after + '\n', encoding='utf-8')
    return after != before

EXAMPLE = ('00_setup', '11_mnist', 'it reads:\n\n```python\n')   # chapter 00 shows notebook 11's install cell after this text

def update_example(write=True)->bool:
    "Rewrite chapter 00's copy of notebook 11's install cell (the code block after EXAMPLE's text); True if it changed"
    import nbformat
    doc, src, lead = EXAMPLE
    path = root/'nbs'/f'{doc}.ipynb'
    nb = nbformat.read(path, as_version=4)
    c = next((c for c in nb.cells if c.cell_type == 'markdown' and lead in c.source), None)
    if c is None: raise SystemExit(f"{path}: no markdown cell with {lead!r}")
    i = c.source.index(lead) + len(lead); j = c.source.index('\n```', i)
    new = c.source[:i] + install_cell(nbformat.read(root/'nbs'/f'{src}.ipynb', as_version=4)) + c.source[j:]
    if new == c.source: return False
    c.source = new
    if write: text = nbformat.writes(nb); path.write_text(text if text.endswith('\n') else text + '\n', encoding='utf-8')
    return True

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*', help='notebooks to update')
    p.add_argument('--training', action='store_true', help='add every notebook listed in TRAINING')
    p.add_argument('--guard-only', action='store_true', help='only make the nbdev_export cell safe outside a clone')
    p.add_argument('--check', action='store_true', help='change nothing; exit 1 if a notebook would change')
    a = p.parse_args()
    paths = [Path(x) for x in a.paths] + ([root/'nbs'/f'{n}.ipynb' for n in TRAINING] if a.training else [])
    if not paths: p.error('no notebooks given (paths or --training)')
    stale = []
    for f in paths:
        if a.check:
            import nbformat, tempfile, shutil
            with tempfile.TemporaryDirectory() as d:
                tmp = Path(d)/f.name; shutil.copy(f, tmp)
                if update(tmp, a.guard_only): stale.append(f)
        elif update(f, a.guard_only): print(f"updated {f}")
        else: print(f"unchanged {f}")
    if a.training and not a.guard_only:                               # chapter 00's copy of notebook 11's cell
        ex = root/'nbs'/f'{EXAMPLE[0]}.ipynb'
        if update_example(write=not a.check): stale.append(ex) if a.check else print(f"updated {ex} (the example of notebook 11's cell)")
    if a.check:
        for f in stale: print(f"would change: {f}")
        sys.exit(1 if stale else 0)

if __name__ == '__main__': main()
