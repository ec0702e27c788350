#!/usr/bin/env python
"""Write, idempotently, the Colab cells of a notebook: an "Open in Colab" badge, a first code cell that installs what
"Run all" needs and calls `dsb_nb.setup.colab_setup()`, and a final `nbdev_export` cell guarded to run only in a clone.

    python tools/colab_cells.py nbs/11_mnist.ipynb nbs/12_transfer.ipynb    # update these notebooks in place
    python tools/colab_cells.py --training                                  # every notebook that trains (TRAINING)
    python tools/colab_cells.py --check --training                          # exit 1 if any notebook would change
    python tools/colab_cells.py --guard-only nbs/*.ipynb                    # only the guarded nbdev_export cell

What the install cell installs is worked out from the notebook, not listed by hand: the optional packages imported by
its code cells and by the dsb_nb modules it uses (its `default_exp` module and every `dsb_nb.X` it imports, followed
through their own `from .Y import`s, including `need('...')` calls) are mapped to the package's extras (`images`,
`widgets`); other third-party imports must be runtime dependencies (or their dependencies), or fastcore, which the
hidden test cells import. An unknown import is an error: add it to KNOWN. The package version is pinned to at least
settings.ini's `version`. Cells are found by their content (the badge by `colab-badge.svg`, the install cell by
MARKER, the export cell by `nbdev_export(`), so running the script twice changes nothing; cell ids of existing cells
are kept and new cells get ids derived from the notebook name. Notebooks are written with nbformat.
"""
import argparse, ast, configparser, hashlib, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
TRAINING = ['03_score_matching', '06_dsb', '07_gaussian', '08_toys_2d', '11_mnist', '12_transfer', '13_celeba', '14_ode',
            '15_continuous_ipf', '16_dsbm', '17_sbcfm', '18_solvers', '19_accuracy']
REPO_URL = 'https://colab.research.google.com/github/dsb-nb/dsb_nb/blob/main/nbs/'
MARKER = '# Colab or a fresh machine:'
# import name -> ('extra', name) or ('pkg', pip name) or ('runtime', None): what makes it importable after the install
KNOWN = {'torchvision': ('extra', 'images'), 'sklearn': ('extra', 'images'), 'torch_fidelity': ('extra', 'images'),
         'ipywidgets': ('extra', 'widgets'), 'fastcore': ('pkg', 'fastcore'),
         'torch': ('runtime', None), 'numpy': ('runtime', None), 'matplotlib': ('runtime', None), 'tqdm': ('runtime', None),
         'ot': ('runtime', None), 'scipy': ('runtime', None), 'PIL': ('runtime', None), 'IPython': ('runtime', None),
         'dsb_nb': ('runtime', None), 'nbdev': ('runtime', None)}   # nbdev: only in the guarded export cell
GUARD = ("#| hide\nimport os\n"
         "if os.path.exists('../settings.ini'): import nbdev; nbdev.nbdev_export()   # only in a clone of the repo, not on Colab")
_dir_re = re.compile(r'^\s*#\s*\|\s*(.*)$')

def version():
    c = configparser.ConfigParser(); c.read(root/'settings.ini'); return c['DEFAULT']['version']

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
        elif kind == 'pkg': pkgs.add(name)
        elif kind is None: unknown.append(x)
    if unknown: raise SystemExit(f"unknown imports {unknown}: add them to KNOWN in {Path(__file__).name}")
    return sorted(extras), sorted(pkgs)

def install_cell(nb):
    extras, pkgs = requirements(nb)
    spec = 'dsb_nb' + (f"[{','.join(extras)}]" if extras else '') + f'>={version()}'
    return (f"#| eval: false\n{MARKER} install what \"Run all\" needs, then choose the folders and the precision\n"
            f"# (notebook 00). On Colab this asks before mounting Google Drive for the checkpoints. Skipped by the tests.\n"
            f"!pip install -q \"{spec}\"" + ''.join(f' {p}' for p in pkgs) + "\n"
            "from dsb_nb.setup import colab_setup\nenv = colab_setup()\nenv")

def badge_cell(name):
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({REPO_URL}{name}.ipynb)"

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
    after = nbformat.writes(nb)
    if after != before: path.write_text(after if after.endswith('\n') else after + '\n', encoding='utf-8')
    return after != before

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
    if a.check:
        for f in stale: print(f"would change: {f}")
        sys.exit(1 if stale else 0)

if __name__ == '__main__': main()
