#!/usr/bin/env python3
"""The layering rule, for what meson's include paths cannot see.

meson gives each layer only the include directories of the layers below it,
so `#include "frontend.h"` from a lower layer's view of a higher one fails to
build. A path with `..` in it could still reach across; this check resolves
every quoted include that names a directory and fails when the file it finds
lives in a layer that the including file may not use. The order is the one at
the top of meson.build.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# From the bottom; each may use itself and those before it.
LAYERS = ["memcore", "trace", "allocators", "measure", "workloads", "conformance", "harness", "bench",
          "tests", "fuzz"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    rel = os.path.relpath(path, ROOT).split(os.sep)
    return rel[0] if rel[0] in LAYERS else None


def main():
    bad = []
    checked = 0
    for layer in LAYERS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, layer)):
            for name in names:
                if not name.endswith((".c", ".h", ".cc", ".in")):
                    continue
                src = os.path.join(dirpath, name)
                with open(src, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for inc in INCLUDE.findall(text):
                    if "/" not in inc:
                        continue
                    checked += 1
                    target = os.path.normpath(os.path.join(dirpath, inc))
                    to = layer_of(target)
                    if to is None or not os.path.exists(target):
                        continue  # found through an include directory meson gave
                    if LAYERS.index(to) > LAYERS.index(layer):
                        bad.append(f"{os.path.relpath(src, ROOT)}: includes \"{inc}\", which is "
                                   f"in {to}/, a layer above {layer}/")
    for line in bad:
        print(line)
    print(f"{checked} includes with a path checked, {len(bad)} across layers upwards")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
