#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb without Quarto (`nbdev_readme` shells out to `quarto render`).

    python tools/make_readme.py           # (re)write README.md
    python tools/make_readme.py --check   # exit 1 if README.md differs from what would be written (CI)

Rules, following what nbdev's docs pipeline shows:
- markdown cells are copied; relative image paths (`![a](figs/x.png)`, `<img src="figs/x.png">`) and link targets
  (`[06 DSB](06_dsb.ipynb)`) are rewritten to be relative to the README's folder, e.g. `nbs/figs/x.png`,
  `nbs/06_dsb.ipynb` (GitHub shows the notebook); setup.py makes them absolute for PyPI;
- code cells flagged `#| hide`, `#| include: false`, `#| export`, `#| exporti` or `#| default_exp` are dropped,
  `#|` directive lines are removed from the others (`#| echo: false` drops the code but keeps the outputs,
  `#| output: false` the reverse);
- code becomes a ```python block; outputs keep stdout and text (text/markdown as is, text/plain in a ``` block).
  Image outputs are left out (a README cannot hold them inline): save figures to nbs/figs/ and link them in markdown.
"""
import argparse, difflib, json, os, posixpath, re, sys
from pathlib import Path
from urllib.parse import urlparse

root = Path(__file__).resolve().parent.parent
_dir_re = re.compile(r'^\s*#\s*\|\s?(.*)$')                      # a `#| ...` directive line
_md_img = re.compile(r'(!\[[^\]]*\]\(\s*<?)([^)\s>]+)')          # ![alt](PATH "title")
_md_link = re.compile(r'((?<!!)\[[^\]]*\]\(\s*<?)([^)\s>]+)')  # [text](PATH): links to chapters
_html_a = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*["\'])([^"\']+)', re.I)
_html_img = re.compile(r'(<img\b[^>]*?\bsrc\s*=\s*["\'])([^"\']+)', re.I)

def _src(x): return ''.join(x) if isinstance(x, list) else (x or '')

def map_path(p, nb_dir:Path, out_dir:Path):
    "Path `p` written relative to `nb_dir`, rewritten relative to `out_dir` (URLs, anchors, absolute paths unchanged)"
    if urlparse(p).scheme or p.startswith(('/', '#')): return p
    return Path(os.path.relpath(nb_dir/p, out_dir)).as_posix()

def map_images(md, nb_dir, out_dir):
    "Rewrite relative image paths in markdown `md`, leaving fenced code blocks alone"
    parts, fenced = [], False
    for line in md.splitlines(keepends=True):
        if line.lstrip().startswith(('```', '~~~')): fenced = not fenced
        if not fenced:
            for rx in (_md_img, _html_img, _md_link, _html_a): line = rx.sub(lambda m: m[1] + map_path(m[2], nb_dir, out_dir), line)
        parts.append(line)
    return ''.join(parts)

def split_directives(src):
    "(directives {name: value}, code without its leading `#|` lines); blank lines among the directives are skipped"
    lines, dirs = src.splitlines(), {}
    while lines and (not lines[0].strip() or (m := _dir_re.match(lines[0]))):
        if lines.pop(0).strip():
            k, sep, v = m[1].partition(':')
            if not sep: k, _, v = m[1].strip().partition(' ')
            dirs[k.strip()] = v.strip()
    return dirs, '\n'.join(lines).strip('\n')

def render_output(o):
    "Markdown for one output, or '' when it has nothing a README can show"
    if o.get('output_type') == 'stream':
        return f"```\n{_src(o['text']).rstrip()}\n```" if o.get('name') == 'stdout' else ''   # stderr: warnings
    data = o.get('data', {})
    if 'text/markdown' in data: return _src(data['text/markdown']).strip()
    if any(k.startswith('image/') for k in data):
        print("make_readme: image output left out (link a saved figure instead)", file=sys.stderr)
        return ''
    return f"```\n{_src(data['text/plain']).rstrip()}\n```" if 'text/plain' in data else ''

def _false(v): return v.lower() == 'false'

def nb2md(nb_path:Path, out_path:Path) -> str:
    "README text for notebook `nb_path`, with image paths relative to `out_path`'s folder"
    nb, blocks = json.loads(nb_path.read_text(encoding='utf-8')), []
    rel = Path(os.path.relpath(nb_path, out_path.parent)).as_posix()
    blocks.append(f"<!-- WARNING: generated from {rel} by tools/make_readme.py -- edit the notebook, not this file -->")
    for cell in nb['cells']:
        src = _src(cell.get('source'))
        if cell['cell_type'] == 'markdown': blocks.append(map_images(src.strip(), nb_path.parent, out_path.parent))
        elif cell['cell_type'] == 'raw':
            if not src.lstrip().startswith('---'): blocks.append(src.strip())   # skip YAML front matter
        elif cell['cell_type'] == 'code':
            dirs, code = split_directives(src)
            if {'hide', 'export', 'exporti', 'default_exp'} & dirs.keys() or _false(dirs.get('include', '')): continue
            if code and not _false(dirs.get('echo', '')): blocks.append(f"```python\n{code}\n```")
            if not _false(dirs.get('output', '')): blocks += [render_output(o) for o in cell.get('outputs', [])]
    return '\n\n'.join(b for b in blocks if b) + '\n'

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--nb', default=str(root/'nbs'/'index.ipynb'), help='notebook to convert')
    p.add_argument('--out', default=str(root/'README.md'), help='README to write or check')
    p.add_argument('--check', action='store_true', help='do not write; exit 1 if the README is out of date')
    a = p.parse_args()
    nb, out = Path(a.nb).resolve(), Path(a.out).resolve()
    if not nb.exists(): sys.exit(f"make_readme: {nb} not found")
    new = nb2md(nb, out)
    if not a.check: return out.write_text(new, encoding='utf-8')
    old = out.read_text(encoding='utf-8') if out.exists() else ''
    if old == new: return print(f"{out.name} is up to date")
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), 'current', 'expected', lineterm='', n=1))
    print('\n'.join(diff[:40]))
    sys.exit(f"make_readme: {out.name} is out of date with {nb.name}; run `python tools/make_readme.py` and commit it")

if __name__ == '__main__': main()
