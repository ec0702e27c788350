#!/usr/bin/env python
"""Offline docs check (no Quarto): nbdev-process the notebooks, convert them to HTML, check every image and internal
link, optionally screenshot a page. Exits 1 if an image is missing or an internal link is broken.

    python tools/render_docs.py                                   # _proc/ and _html/*.html for every notebook + checks
    python tools/render_docs.py --screenshot /tmp/docs.png        # + a screenshot of the index page
    python tools/render_docs.py --nbs /tmp/copy --page 01_reference --screenshot /tmp/docs.png

Steps: a check that nbs/_quarto.yml (committed) is the project's docs config, not nbdev's default; `nbdev_proc_nbs`
(nbdev's processing into _proc/: frontmatter, show_doc, hidden cells, directives); nbconvert's HTMLExporter (what
`jupyter nbconvert --to html` runs) on each processed notebook into _html/ (both gitignored); a screenshot in headless
Chromium. The published site is built by `nbdev_docs` (Quarto) in CI (.github/workflows/deploy.yaml); this only
checks that pages, figures and maths come out right. Notebooks need stored outputs to show figures: see
tools/exec_nbs.py.

Pages are named as on the published site: nbdev's front matter gives each notebook an `output-file` without its
number prefix (`06_dsb.ipynb` -> `dsb.html`). Links are rewritten as Quarto does: a link to a notebook
(`[notebook 06](06_dsb.ipynb)`) points to its page (`dsb.html`), and nbdev's doc links to the site itself
(`https://dsb-nb.github.io/dsb_nb/dsb.html#dsb`, from settings.ini's doc_host + doc_baseurl) become relative, so that
they are checked too. Every other file nbdev copied into _proc/ (figures under figs/, ...) is copied next to the pages,
as Quarto copies the files a page references. The check then reads every page: each `<img src>` and each relative
`<a href>` (without its #fragment) must be a file in _html/; a miss is reported with its page and the run fails.
Links to the web (http:, https:, mailto:) and data: URIs are not followed.

Offline details:
- nbdev_proc_nbs would try to download Quarto when it is missing: that step is skipped here, and so is its rebuild of
  dsb_nb/_modidx.py (run `nbdev_export` first) so that a docs check never touches the package.
- The front-matter raw cell nbdev makes from `# Title` / `> subtitle` is turned back into markdown (nbconvert drops
  raw cells), and `#| ` lines that Quarto would consume are removed; `#| echo: false` hides the code.
- MathJax normally comes from a CDN. A local MathJax 2.7 (the one nbconvert's template speaks) is copied into
  _html/mathjax/: from the `jupyter_server_mathjax` package if installed, else from its wheel, fetched once with
  `pip download` into ~/.cache/dsb_nb/ (or point --mathjax at a folder holding MathJax.js).
- Screenshots need Chromium: `apt-get install -y chromium` (path set by --chromium).
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, zipfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'tools'))
MJ_CONFIG = 'TeX-AMS-MML_HTMLorMML-full,Safe,local/stix'  # two configs shipped by jupyter_server_mathjax + ours:
# that package ships only the STIX-Web fonts, while MathJax's default is TeX fonts (it then falls back to crude ones)
MJ_LOCAL = '''MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web",
                                  webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/stix.js");
'''
_dir_re = re.compile(r'^\s*#\s*\|')
_link_attrs = re.compile(r'(\]\([^)\s]*\))\{[^}]*\}')   # Quarto's [text](url){target="_blank" ...}
_md_link = re.compile(r'(\]\(\s*<?)([^)\s>]+)')                 # [text](TARGET ...) and ![alt](TARGET ...)
_html_ref = re.compile(r'(\b(?:href|src)\s*=\s*["\'])([^"\']*)', re.I)

def page_name(nb_name:str)->str:
    "The published page of a notebook, as nbdev names it: '06_dsb.ipynb' -> 'dsb.html' (folders kept)"
    from nbdev.doclinks import _nbpath2html
    return _nbpath2html(Path(nb_name)).as_posix()

def site_url():
    "The published site's base URL from settings.ini (doc_host + doc_baseurl), with a trailing slash"
    import configparser
    c = configparser.ConfigParser(); c.read(root/'settings.ini')
    d = c['DEFAULT']
    return d.get('doc_host', '').rstrip('/') + '/' + d.get('doc_baseurl', '').strip('/') + '/'

def rewrite_target(t:str, site:str)->str:
    "A link target as the site serves it: NAME.ipynb -> page name, absolute links into the site -> relative"
    if site and t.startswith(site): t = t[len(site):] or 'index.html'
    path, hash_, frag = t.partition('#')
    if path.endswith('.ipynb') and '://' not in path:
        d, _, name = path.rpartition('/')
        path = (d + '/' if d else '') + page_name(name)
    return path + hash_ + frag

def rewrite_links(md:str, site:str)->str:
    "Apply `rewrite_target` to markdown links/images and HTML href/src in `md`, outside fenced code blocks"
    out, fenced = [], False
    for line in md.splitlines(keepends=True):
        if line.lstrip().startswith(('```', '~~~')): fenced = not fenced
        if not fenced:
            for rx in (_md_link, _html_ref): line = rx.sub(lambda m: m[1] + rewrite_target(m[2], site), line)
        out.append(line)
    return ''.join(out)

def check_quarto_yml()->str:
    "The text of nbs/_quarto.yml, the docs config every nbdev docs command reads; exit if it is missing or nbdev's default"
    import nbdev.quarto
    f = root/'nbs'/'_quarto.yml'
    if not f.exists(): sys.exit("nbs/_quarto.yml is missing: restore it (git restore nbs/_quarto.yml); nbdev would write its default")
    import yaml
    text = f.read_text()
    css = (yaml.safe_load(text).get('format') or {}).get('html', {}).get('css')
    if text == nbdev.quarto._quarto_yml or (css and not (f.parent/css).exists()):
        sys.exit(f"nbs/_quarto.yml is nbdev's default (its css: {css} is missing), not the project's: restore it from git")
    return text

def proc_nbs(nbs:Path):
    "nbdev_proc_nbs without its Quarto install and _modidx rebuild; returns the _proc folder"
    import nbdev.quarto, nbdev.doclinks
    nbdev.quarto._ensure_quarto = lambda: None
    nbdev.doclinks._build_modidx = lambda *a, **k: None
    # force: rebuild _proc from scratch (a few seconds), so no page comes from another --nbs folder's cache
    nbdev.quarto.nbdev_proc_nbs.__wrapped__(path=str(nbs), force=True)
    return root/'_proc'

def mathjax_dir(user_dir=None) -> Path:
    "A folder holding MathJax 2.7's MathJax.js (see module docstring)"
    if user_dir: return Path(user_dir)
    try:
        import jupyter_server_mathjax
        return Path(jupyter_server_mathjax.__file__).parent/'static'
    except ImportError: pass
    cache = Path.home()/'.cache'/'dsb_nb'/'mathjax'
    if not (cache/'MathJax.js').exists():
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '-d', d,
                            'jupyter-server-mathjax==0.2.6'], check=True)
            with zipfile.ZipFile(next(Path(d).glob('*.whl'))) as z:
                pre = 'jupyter_server_mathjax/static/'
                for n in z.namelist():
                    if n.startswith(pre) and not n.endswith('/'):
                        (cache/n[len(pre):]).parent.mkdir(parents=True, exist_ok=True)
                        (cache/n[len(pre):]).write_bytes(z.read(n))
    return cache

def for_nbconvert(nb, site:str=''):
    "Make a processed notebook look as Quarto would render it: title cell back, `#|` lines out, links to pages"
    import nbformat, yaml
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):   # nbdev front matter -> title + subtitle
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            c = nbformat.v4.new_markdown_cell(f"# {fm.get('title', '')}\n\n> {fm.get('description', '')}")
        elif c.cell_type == 'markdown': c.source = rewrite_links(_link_attrs.sub(r'\1', c.source), site)
        elif c.cell_type == 'code':
            lines = c.source.splitlines()
            dirs = [l for l in lines if _dir_re.match(l)]
            if any(re.search(r'include:\s*false', l) for l in dirs): continue
            if any(re.search(r'output:\s*false', l) for l in dirs): c.outputs = []
            c.source = '\n'.join(l for l in lines if not _dir_re.match(l)).strip('\n')
            if any(re.search(r'echo:\s*false', l) for l in dirs) or not c.source:
                c.metadata['transient'] = {'remove_source': True}                # nbconvert's "hide the code"
            for o in c.outputs:                                                  # show_doc output is markdown
                md = o.get('data', {}).get('text/markdown')
                if md: o.data['text/markdown'] = rewrite_links(_link_attrs.sub(r'\1', ''.join(md)), site)
        cells.append(c)
    nb.cells = cells
    return nb

def copy_assets(proc:Path, out:Path):
    "Copy every file of `proc` that is not a notebook or nbdev/Quarto config (figures, data a page links) into `out`"
    n = 0
    for f in proc.rglob('*'):
        rel = f.relative_to(proc)
        if (not f.is_file() or f.suffix in ('.ipynb', '.yml', '.yaml') or rel.parts[0] == '_docs'
                or any(p.startswith(('.', '_')) for p in rel.parts)): continue
        (out/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, out/rel); n += 1
    return n

def to_html(proc:Path, names, out:Path, mj:Path):
    "Convert `proc/NAME` notebooks to `out/PAGE.html` (nbdev's page names) with local MathJax; returns the written paths"
    import nbformat
    from nbconvert import HTMLExporter
    if not (out/'mathjax'/'MathJax.js').exists(): shutil.copytree(mj, out/'mathjax', dirs_exist_ok=True)
    for old in out.glob('**/*'):                         # earlier pages and assets: a stale copy must not hide a miss
        if old.is_file() and 'mathjax' not in old.relative_to(out).parts: old.unlink()
    (out/'mathjax'/'config'/'local').mkdir(parents=True, exist_ok=True)
    (out/'mathjax'/'config'/'local'/'stix.js').write_text(MJ_LOCAL)
    ex = HTMLExporter(template_name='lab', mathjax_url=f'mathjax/MathJax.js?config={MJ_CONFIG}',
                      exclude_input_prompt=True, exclude_output_prompt=True,   # no In [ ]: / Out[0]:, as in Quarto
                      require_js_url='data:text/javascript,')   # no widgets here: skip require.js's CDN
    res, site = [], site_url()
    for n in names:
        body, _ = ex.from_notebook_node(for_nbconvert(nbformat.read(proc/n, as_version=4), site))
        res.append(out/page_name(n))
        res[-1].parent.mkdir(parents=True, exist_ok=True)
        res[-1].write_text(body, encoding='utf-8')
    return res

class _Refs(__import__('html.parser').parser.HTMLParser):
    "Collects (tag, attribute value) for <img src> and <a href>"
    def __init__(self): super().__init__(); self.refs = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'img' and a.get('src'): self.refs.append(('img', a['src']))
        if tag == 'a' and a.get('href'): self.refs.append(('a', a['href']))

def check_pages(pages, out:Path):
    "Problems as 'page: missing image X' / 'page: broken link X' for relative targets that are not files under `out`"
    from urllib.parse import unquote, urlparse
    bad = []
    for pg in pages:
        r = _Refs(); r.feed(pg.read_text(encoding='utf-8'))
        for tag, t in r.refs:
            u = urlparse(t)
            if u.scheme or t.startswith(('#', '//')): continue             # web, mailto:, data:, same-page anchors
            target = (pg.parent/unquote(u.path)).resolve()
            if not target.is_file() or out.resolve() not in target.parents:
                bad.append(f"{pg.name}: {'missing image' if tag == 'img' else 'broken link'} {t}")
    return bad

def screenshot(page:Path, png:Path, chromium='/usr/bin/chromium', height=1600):
    "Screenshot (1200 x `height` px, top of the page) of `page` in headless Chromium, after MathJax has run"
    if not shutil.which(chromium): sys.exit(f"{chromium} not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run([chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                        '--disable-background-networking', '--disable-component-update', '--disable-sync',
                        f'--user-data-dir={prof}', '--hide-scrollbars', '--virtual-time-budget=20000',
                        f'--screenshot={png}', f'--window-size=1200,{height}', page.as_uri()],
                       check=True, capture_output=True, timeout=180)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--nbs', default=str(root/'nbs'), help='notebook folder to process (default nbs/)')
    p.add_argument('--screenshot', help='write a PNG screenshot of one page here')
    p.add_argument('--page', help="page to screenshot: notebook stem ('06_dsb') or page name ('dsb'); default index")
    p.add_argument('--mathjax', help='folder holding MathJax 2.7 (MathJax.js)')
    p.add_argument('--height', type=int, default=1600, help='screenshot height in pixels (window width is 1200)')
    p.add_argument('--chromium', default='/usr/bin/chromium')
    a = p.parse_args()
    os.chdir(root)                                       # nbdev finds settings.ini from the cwd
    qy = check_quarto_yml()
    nbs = Path(a.nbs).resolve()
    names = sorted(str(f.relative_to(nbs)) for f in nbs.rglob('*.ipynb')
                   if not any(part.startswith(('_', '.')) for part in f.relative_to(nbs).parts))
    if not names: sys.exit(f"no notebooks in {nbs}")
    proc = proc_nbs(nbs)
    if (root/'nbs'/'_quarto.yml').read_text() != qy: sys.exit("nbdev changed nbs/_quarto.yml while processing the notebooks")
    out = root/'_html'
    pages = to_html(proc, names, out, mathjax_dir(a.mathjax))
    n_assets = copy_assets(proc, out)
    print(f"wrote {len(pages)} page(s) and {n_assets} asset file(s) to {out}")
    if a.screenshot:
        stems = {pg.stem: pg for pg in pages} | {Path(n).stem: out/page_name(n) for n in names}   # 'dsb' or '06_dsb'
        page = stems.get(a.page or 'index') or (None if a.page else pages[0])
        if page is None: sys.exit(f"no page {a.page!r}; have {sorted(stems)}")
        screenshot(page, Path(a.screenshot).resolve(), a.chromium, a.height)
        print(f"screenshot of {page.name} -> {a.screenshot}")
    bad = check_pages(pages, out)
    for b in bad: print(b)
    if bad: sys.exit(f"{len(bad)} missing image(s) or broken internal link(s)")
    print(f"checked images and internal links of {len(pages)} page(s): none missing")

if __name__ == '__main__': main()
