#!/usr/bin/env python3
"""Splits one trajectory file into two contiguous runs at a frame, e.g. to train
on the head of chignolin's train-08 and validate on its tail:

    /usr/bin/python3 scripts/split-run.py TOP TRAJ FRAME HEAD_OUT TAIL_OUT

Frames keep their order and spacing; the two parts share no frame (and no pair).
"""
import sys

import mdtraj as md

top, traj, frame, head, tail = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
t = md.load(traj, top=top)
if not 1 < frame < t.n_frames - 1:
    sys.exit(f"split-run.py: {traj}: frame {frame} is outside 2..{t.n_frames - 2}")
t[:frame].save(head)
t[frame:].save(tail)
print(f"{traj}: frames 0-{frame - 1} -> {head}, {frame}-{t.n_frames - 1} -> {tail}")
