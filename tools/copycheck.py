#!/usr/bin/env python3
"""Lists runs of 10+ words in knowledge/ that are identical to a source page (facts carry over, sentences do not)."""
import pathlib, re, sys
def words(text): return re.findall(r"[a-z0-9£%']+", text.lower())
N = 10
src_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/sources")
kn_dir = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "knowledge")
src = set()
for p in src_dir.glob("*"):
    if p.suffix in (".txt", ".md"):
        w = words(p.read_text(errors="ignore"))
        src.update(tuple(w[i:i+N]) for i in range(len(w) - N + 1))
bad = 0
for p in sorted(kn_dir.rglob("*")):
    if p.is_file() and p.suffix in (".md", ".toml", ".txt"):
        w = words(p.read_text(errors="ignore"))
        for i in range(len(w) - N + 1):
            if tuple(w[i:i+N]) in src:
                bad += 1
                print(f"{p}: copied run: {' '.join(w[i:i+N])}")
sys.exit(1 if bad else 0)
