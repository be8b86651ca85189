"""The floor: the least work any Git-driven reconciler must do.

`git pull` (clone the first time), then rewrite only the files under files/
whose bytes or mode differ, each with an atomic rename, and remove files
that left the repository. Usage: python floor.py ORIGIN CHECKOUT TARGET
"""
import os
import subprocess
import sys

origin, checkout, target = sys.argv[1:4]
if os.path.isdir(checkout):
    subprocess.run(["git", "-C", checkout, "pull", "-q", "--ff-only"], check=True)
else:
    subprocess.run(["git", "clone", "-q", origin, checkout], check=True)
src_root = os.path.join(checkout, "files")
wanted = set()
for folder, _, names in os.walk(src_root):
    for name in names:
        rel = os.path.relpath(os.path.join(folder, name), src_root)
        wanted.add(rel)
        with open(os.path.join(folder, name), "rb") as source:
            data = source.read()
        dest = os.path.join(target, rel)
        try:
            with open(dest, "rb") as current:
                mode = os.fstat(current.fileno()).st_mode & 0o777
                same = mode == 0o644 and current.read() == data
        except FileNotFoundError:
            same = False
        if not same:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest + ".tmp", "wb") as out:
                out.write(data)
            os.chmod(dest + ".tmp", 0o644)
            os.replace(dest + ".tmp", dest)
for folder, _, names in os.walk(target):
    for name in names:
        rel = os.path.relpath(os.path.join(folder, name), target)
        if rel not in wanted:
            os.remove(os.path.join(folder, name))
