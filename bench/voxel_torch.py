"""PyTorch mirror of tcbackmap's voxelize/collapse for `npm run bench`.

Times forward + backward of collapse(voxelize(x)) through autograd, written the
two ways a PyTorch implementation would: the direct formula (G^3 exponentials
per particle, as in the method's reference code) and the separable one (three
1-D Gaussians and an outer product). Prints one JSON object.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import time

import torch


def grid_axis(size, width):
    return torch.linspace(-width / 2, width / 2, size)


def voxelize_direct(x, size, width, sigma):
    g = grid_axis(size, width)
    points = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).view(-1, 3)
    d2 = (points.view(1, 1, -1, 3) - x.unsqueeze(2)).square().sum(-1)
    return torch.exp(-d2 / (2 * sigma * sigma)).view(x.shape[0], x.shape[1], size, size, size)


def collapse_direct(d, width):
    size = d.shape[2]
    g = grid_axis(size, width)
    points = torch.stack(torch.meshgrid(g, g, g, indexing="ij"), -1).view(1, 1, -1, 3)
    flat = d.reshape(d.shape[0], d.shape[1], -1, 1)
    return (flat * points).sum(2) / flat.sum(2).clamp_min(1e-12)


def voxelize_separable(x, size, width, sigma):
    g = grid_axis(size, width)
    e = torch.exp(-(g.view(1, 1, 1, -1) - x.unsqueeze(-1)).square() / (2 * sigma * sigma))
    ex, ey, ez = e[:, :, 0], e[:, :, 1], e[:, :, 2]
    return ex[..., :, None, None] * ey[..., None, :, None] * ez[..., None, None, :]


def collapse_separable(d, width):
    g = grid_axis(d.shape[2], width)
    m = torch.stack([d.sum((3, 4)), d.sum((2, 4)), d.sum((2, 3))], 2)
    norm = m[:, :, 0].sum(-1).clamp_min(1e-12)
    return (m * g).sum(-1) / norm.unsqueeze(-1)


def time_round_trip(voxelize, collapse, args):
    gen = torch.Generator().manual_seed(1234)
    x = (torch.rand(args.batch, args.particles, 3, generator=gen) - 0.5) * (args.width / 2)
    w = torch.randn(args.batch, args.particles, 3, generator=gen)
    times = []
    for r in range(-args.warmup, args.repeats):
        t0 = time.perf_counter()
        xr = x.detach().requires_grad_(True)
        coords = collapse(voxelize(xr, args.grid, args.width, args.sigma), args.width)
        (grad,) = torch.autograd.grad((coords * w).sum(), [xr])
        float(grad.sum())
        if r >= 0:
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--particles", type=int, default=50)
    p.add_argument("--grid", type=int, default=12)
    p.add_argument("--width", type=float, default=1.8)
    p.add_argument("--sigma", type=float, default=0.05398)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "direct": time_round_trip(voxelize_direct, collapse_direct, args),
        "separable": time_round_trip(voxelize_separable, collapse_separable, args),
    }))


if __name__ == "__main__":
    main()
