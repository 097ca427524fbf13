"""PyTorch mirror of tcbackmap's autoregressive backmapping, for `npm run bench`.

The decoder of bench/train_torch.py (the same architecture and parameter count
as native/core/model/model.cpp) rolls out frame by frame at batch 1, as a PyTorch
implementation of the method does: centre on the CG beads, voxelize A(t-1) and
C(t), decode, collapse, move back. Prints one JSON object.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_torch import Cvae, add_architecture_args, collapse, gaussian_std, voxelize  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--frames", type=int, default=200)
    add_architecture_args(p)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Cvae(a).eval()
    decoder = model.decoder
    gen = torch.Generator().manual_seed(2)
    cg = (torch.rand(a.frames, 1, a.beads, 3, generator=gen) - 0.5) * 0.8
    z = torch.randn(a.frames, 1, a.latent, generator=gen)
    prev = (torch.rand(1, a.atoms, 3, generator=gen) - 0.5) * 0.8

    std = gaussian_std(a)

    def step(prev, t):
        c = cg[t].mean(1, keepdim=True)
        p = prev - prev.mean(1, keepdim=True) if a.centring == "own" else prev - c
        condition = torch.cat([voxelize(p, a.grid, a.width, std), voxelize(cg[t] - c, a.grid, a.width, std)], 1)
        x = collapse(decoder(condition, z[t]), a.width)
        # own centring: place the frame so that its beads' centroid is C(t)'s (the stand-in mapping: the first `beads` atoms)
        return x - x[:, :a.beads].mean(1, keepdim=True) + c if a.centring == "own" else x + c

    with torch.inference_mode():
        for t in range(3):  # warm-up
            prev = step(prev, t)
        t0 = time.perf_counter()
        for t in range(a.frames):
            prev = step(prev, t)
        seconds = time.perf_counter() - t0
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "parameters": sum(x.numel() for x in model.parameters()),
        "frames": a.frames,
        "seconds": seconds,
        "fps": a.frames / seconds,
    }))


if __name__ == "__main__":
    main()
