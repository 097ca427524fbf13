"""mdtraj side of `npm run bench` I/O: read and write frames/s on the same files.

Usage: io_mdtraj.py read FILE CHUNK | write FILE_IN FILE_OUT REPEATS
Prints one JSON object. Run with Debian's /usr/bin/python3 (python3-mdtraj).
"""
import json
import os
import resource
import sys
import time

import mdtraj as md
import numpy as np


def open_file(path, mode):
    ext = os.path.splitext(path)[1].lower()
    if ext == ".xtc":
        return md.formats.XTCTrajectoryFile(path, mode)
    if ext == ".dcd":
        return md.formats.DCDTrajectoryFile(path, mode)
    raise SystemExit(f"unsupported {ext}")


def read(path, chunk):
    t0 = time.perf_counter()
    frames = 0
    with open_file(path, "r") as f:
        while True:
            block = f.read(n_frames=chunk)
            xyz = block[0]
            if len(xyz) == 0:
                break
            frames += len(xyz)
    dt = time.perf_counter() - t0
    return {"frames": frames, "seconds": dt, "fps": frames / dt,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def write(src, out, repeats):
    with open_file(src, "r") as f:
        xyz = f.read()[0]
    # DCDTrajectoryFile reads and writes Å, XTCTrajectoryFile nm: convert only
    # across the two, so each file holds the same molecule in its own unit.
    if src.endswith(".dcd") and out.endswith(".xtc"):
        xyz = xyz / 10
    elif src.endswith(".xtc") and out.endswith(".dcd"):
        xyz = xyz * 10
    t0 = time.perf_counter()
    with open_file(out, "w") as f:
        for _ in range(repeats):
            f.write(xyz)
    dt = time.perf_counter() - t0
    frames = len(xyz) * repeats
    return {"frames": frames, "seconds": dt, "fps": frames / dt}


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "read":
        print(json.dumps(read(sys.argv[2], int(sys.argv[3]))))
    elif cmd == "write":
        print(json.dumps(write(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        raise SystemExit("usage: io_mdtraj.py read FILE CHUNK | write IN OUT REPEATS")
