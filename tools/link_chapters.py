#!/usr/bin/env python
"""Turn plain-text chapter mentions in the notebooks' markdown cells into relative links to the chapter.

    python tools/link_chapters.py nbs/index.ipynb nbs/11_mnist.ipynb     # rewrite these notebooks in place
    python tools/link_chapters.py --all                                  # every notebook in nbs/
    python tools/link_chapters.py --check --all                          # list unlinked mentions; exit 1 if any

What is linked (NN: the two-digit number of an existing notebook nbs/NN_name.ipynb; "chapter 3" is left alone):
- "notebook NN" / "chapter NN" (any case, also "notebook NN's")  -> "[notebook NN](NN_name.ipynb)"
- "notebooks NN and MM", "chapters NN, MM and KK", "chapters NN-MM" -> each number linked: "notebooks [NN](..) and [MM](..)"
- "(see NN)" / "(see NN and MM)"                                -> the numbers linked
- in a markdown table, a first cell "NN Title"                    -> "[NN Title](NN_name.ipynb)" (the index's table)
Links point to the notebook file (`06_dsb.ipynb`): GitHub and Jupyter open it, Quarto turns it into the chapter's
page (`dsb.html`, nbdev's page name), and tools/render_docs.py does the same offline and checks that it exists.
Nothing is touched inside code cells, fenced or inline code, maths ($...$), existing links or images, HTML tags or
URLs, so a second run changes nothing. A notebook's mentions of itself are left as text. Cells are rewritten through
nbformat; cell ids and everything else are kept.
"""
import argparse, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
NBS = root/'nbs'

def chapters(nbs:Path=NBS)->dict:
    "{'06': '06_dsb.ipynb', ...} for every numbered notebook"
    return {m[1]: f.name for f in sorted(nbs.glob('*.ipynb')) if (m := re.match(r'^(\d\d)_', f.name))}

# protected spans: fenced blocks are handled line by line; these are matched within a line
_protect = re.compile(r'`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|!?\[[^\]]*\]\([^)]*\)|<[^>]+>|https?://\S+')
_num = r'\d\d(?![,.]?\d)'                                   # two digits, not the start of 10,000 or 1.5
_sep = r'(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|to)\s+|\s*[-–]\s*)'
_mention = re.compile(rf'\b((?:[Nn]otebook|[Cc]hapter)s?)(\s+)({_num}(?:{_sep}{_num})*)\b(?!\.\d|\s*%)')
_see = re.compile(rf'(\(see\s+)({_num}(?:{_sep}{_num})*)(?=[),;])')
_table = re.compile(rf'^(\|\s*)({_num})(\s+[^|\[]*?)(\s*\|)')

def _key(n:str, chs:dict): return n if n in chs else None

def _link_numbers(s:str, chs:dict, self_key, found:list):
    "Link every chapter number in the list `s` ('07 and 08')"
    def one(m):
        k = _key(m[0], chs)
        if k is None or k == self_key: return m[0]
        found.append(k); return f'[{m[0]}]({chs[k]})'
    return re.sub(_num, one, s)

def link_text(text:str, chs:dict, self_key=None, found=None)->str:
    "Link the chapter mentions of unprotected markdown `text` (one line, no code/maths/links)"
    found = [] if found is None else found
    def mention(m):
        word, sp, nums = m[1], m[2], m[3]
        ks = [_key(n, chs) for n in re.findall(_num, nums)]
        if not any(k and k != self_key for k in ks): return m[0]
        if len(ks) == 1:                                                 # "notebook 06" -> one link on the phrase
            found.append(ks[0]); return f'[{word}{sp}{nums}]({chs[ks[0]]})'
        return word + sp + _link_numbers(nums, chs, self_key, found)
    text = _mention.sub(mention, text)
    return _see.sub(lambda m: m[1] + _link_numbers(m[2], chs, self_key, found), text)

def link_markdown(md:str, chs:dict, self_key=None, found=None)->str:
    "Apply `link_text` to the unprotected parts of markdown `md`; table rows 'NN Title' get a link on their first cell"
    out, fenced = [], False
    for line in md.splitlines(keepends=True):
        if line.lstrip().startswith(('```', '~~~')): fenced = not fenced; out.append(line); continue
        if fenced or line.startswith('    '): out.append(line); continue
        t = _table.match(line)
        if t and _key(t[2], chs) and _key(t[2], chs) != self_key:
            k = _key(t[2], chs)
            if found is not None: found.append(k)
            line = f'{t[1]}[{t[2]}{t[3].rstrip()}]({chs[k]}){t[4]}' + line[t.end():]
        parts, last = [], 0
        for m in _protect.finditer(line):
            parts.append(link_text(line[last:m.start()], chs, self_key, found)); parts.append(m[0]); last = m.end()
        parts.append(link_text(line[last:], chs, self_key, found))
        out.append(''.join(parts))
    return ''.join(out)

def process(path:Path, check=False):
    "Rewrite `path` (or, with `check`, only report); returns the list of (cell index, snippet) mentions linked"
    import nbformat
    chs = chapters(path.parent)
    m = re.match(r'^(\d\d)_', path.name)
    self_key = m[1] if m else None
    nb = nbformat.read(path, as_version=4)
    hits, changed = [], False
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'markdown': continue
        found = []
        new = link_markdown(c.source, chs, self_key, found)
        if new != c.source:
            changed = True
            for ln_old, ln_new in zip(c.source.splitlines(), new.splitlines()):
                if ln_old != ln_new:
                    for x in re.findall(r'\[[^\]]*\]\(\d\d_[^)]*\.ipynb\)', ln_new):
                        if x not in ln_old: hits.append((i, x))
            if not check: c.source = new
    if changed and not check: nbformat.write(nb, path)
    return hits

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='*')
    p.add_argument('--all', action='store_true', help='every notebook in nbs/')
    p.add_argument('--check', action='store_true', help='change nothing; list unlinked mentions and exit 1 if any')
    a = p.parse_args()
    paths = [Path(x) for x in a.paths] + (sorted(NBS.glob('*.ipynb')) if a.all else [])
    if not paths: p.error('no notebooks given (paths or --all)')
    total = 0
    for f in paths:
        hits = process(f, a.check)
        total += len(hits)
        if a.check:
            for i, x in hits: print(f"{f.name}: cell {i}: unlinked {x.split('](')[0][1:]!r} -> {x.split('](')[1][:-1]}")
        elif hits: print(f"{f.name}: linked {len(hits)} mention(s)")
    if a.check:
        print(f"{total} unlinked chapter mention(s)")
        sys.exit(1 if total else 0)

if __name__ == '__main__': main()
