#!/usr/bin/env bash
# The layering, checked against the includes: core/ reaches no other folder of the project and no CUDA header;
# formats/ reaches core/; pdes/ reaches core/ and formats/; kernels/ reaches core/. A quoted include resolves
# next to the including file first, then in the folders it may reach; one found only in another folder of the
# project is a violation. tools/, tests/ and bench/ sit on top and may include anything.
# Usage: layering.sh SOURCE_DIR
set -u
cd "$1" || exit 1
python3 - <<'PY'
import os, re, sys
allowed = {"core": ["core"], "formats": ["formats", "core"], "pdes": ["pdes", "formats", "core"],
           "kernels": ["kernels", "core"]}
project = ["core", "formats", "pdes", "kernels", "tools"]
headers = {}  # basename -> folders (top level) holding a header of that name
for top in project:
    for d, _, files in os.walk(top):
        for f in files:
            headers.setdefault(f, set()).add(top)
include = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
cuda = re.compile(r'^(cuda|cublas|cusparse|curand|nccl|nvtx|thrust/|cub/|cooperative_groups)')
bad = []
for top, reach in allowed.items():
    for d, _, files in os.walk(top):
        for f in files:
            if not f.endswith((".h", ".cpp", ".cu", ".cuh")):
                continue
            path = os.path.join(d, f)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                m = include.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                if kind == "<":
                    if top == "core" and cuda.match(name):
                        bad.append(f"{path}:{n}: core includes the CUDA header <{name}>")
                    continue
                if os.path.exists(os.path.join(d, name)):
                    resolved = os.path.normpath(os.path.join(d, name)).split(os.sep)[0]
                    if resolved not in reach:
                        bad.append(f"{path}:{n}: \"{name}\" is in {resolved}/, which {top}/ may not reach")
                    continue
                found = headers.get(os.path.basename(name), set())
                if found and not found & set(reach):
                    bad.append(f"{path}:{n}: \"{name}\" is in {'/, '.join(sorted(found))}/, which {top}/ may not reach")
for b in bad:
    print("FAIL:", b)
print(f"layering: {len(bad)} violations")
sys.exit(1 if bad else 0)
PY
