#!/usr/bin/env python
"""Lint the exported package (CI): ruff's checks from pyproject.toml (pyflakes, lines <= 120 characters, no statements
joined with `;`), except on the lines nbdev writes itself: line 1 of a module (its docstring, the notebook's title line)
and the `__all__ = [...]` list, which follow the notebooks' titles and exported names rather than the code.

    python tools/lint.py            # exit 1 and list the findings if there are any
"""
import json, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def generated(path:Path, line:int)->bool:
    "Is `line` (1-based) of `path` one nbdev writes from the notebook (the module docstring or `__all__`)?"
    text = path.read_text().splitlines()
    start = next((i for i, t in enumerate(text) if t.startswith('__all__ = [')), None)
    if start is None: return line == 1
    end = next(i for i in range(start, len(text)) if text[i].rstrip().endswith(']'))
    return line == 1 or start < line <= end + 1

def main():
    out = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--output-format', 'json', 'dsb_nb'], cwd=root,
                         capture_output=True, text=True)
    if out.returncode not in (0, 1): sys.exit(out.stderr or out.stdout)
    found = [f for f in json.loads(out.stdout or '[]')
             if not (f['code'] == 'E501' and generated(root/f['filename'], f['location']['row']))]
    for f in found:
        print(f"{Path(f['filename']).relative_to(root)}:{f['location']['row']}: {f['code']} {f['message']}")
    print(f"lint: {len(found)} finding(s) in dsb_nb/")
    sys.exit(1 if found else 0)

if __name__ == '__main__': main()
