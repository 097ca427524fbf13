"""How much could Winograd F(2,3) training kernels save in the `adp` training step?

For every convolution of the `adp` preset's network (the PyTorch mirror's layers,
batch 32, one thread), this prints oneDNN's bf16 forward + backward time (input
gradients only where the real step needs them: not for the two stems that read
voxelized data) next to two bounds for the 3x3x3 stride-1 layers:

- unfused: the three Winograd products (forward, input gradient, filter
  gradient: 64 batched bf16 GEMMs each, by libtorch's oneDNN matmul) plus one
  write and one read of every transformed tensor at copy speed;
- fused, zero overhead: the direct convolution's time divided by 27*8/64, the
  products Winograd F(2,3) saves, as if the transforms cost nothing and the
  products ran at oneDNN's direct-convolution rate.

Run with Debian's /usr/bin/python3 (python3-torch), on a quiet core; the
architecture options are the mirror's (default: the `adp` preset):
    /usr/bin/python3 bench/winograd_ceiling.py [--enc 16 --dec 16 ...]
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_torch  # noqa: E402  (the mirror's layers)

BATCH = 32
SAVING = 27 * 8 / 64  # direct products per Winograd F(2x2x2, 3x3x3) product


def best_time(fn, repeats=3):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def layer_shapes(arch):
    """(conv module, input shape, whether the step needs its input gradient) in forward order."""
    model = train_torch.Cvae(arch)
    seen = []
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            module.register_forward_hook(lambda m, i, o: seen.append((m, tuple(i[0].shape))))
    g = arch.grid
    data_in = {2 * arch.atoms + arch.beads, arch.atoms + arch.beads}
    with torch.no_grad():
        model.encoder(torch.randn(BATCH, 2 * arch.atoms + arch.beads, g, g, g))
        model.decoder(torch.randn(BATCH, arch.atoms + arch.beads, g, g, g), torch.randn(BATCH, arch.latent))
    return [(m, s, m.in_channels not in data_in or m.kernel_size[0] == 1) for m, s in seen]


def onednn_bf16(module, shape, input_grad):
    x = torch.randn(shape, requires_grad=input_grad)
    conv = nn.Conv3d(module.in_channels, module.out_channels, module.kernel_size, stride=module.stride,
                     padding=module.padding, bias=False)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        y.float().sum().backward()
    return best_time(step)


def unfused_winograd(cin, cout, grid, input_grad):
    tiles = BATCH * (grid // 2) ** 3
    a = torch.randn(64, tiles, cin, dtype=torch.bfloat16)
    w = torch.randn(64, cin, cout, dtype=torch.bfloat16)
    g = torch.randn(64, tiles, cout, dtype=torch.bfloat16)
    t = best_time(lambda: torch.bmm(a, w)) + best_time(lambda: torch.bmm(a.transpose(1, 2), g))
    if input_grad:
        t += best_time(lambda: torch.bmm(g, w.transpose(1, 2)))
    # traffic: input tiles and output tiles (forward), gradient tiles and input-gradient
    # tiles (backward); each written once by a transform and read once by a product
    words = 64 * tiles * (cin + cout) * (2 if input_grad else 1.5) // 2  # bf16 pairs as fp32 words
    src, dst = torch.empty(int(words)), torch.empty(int(words))
    return t + 2 * best_time(lambda: dst.copy_(src))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    train_torch.add_architecture_args(parser)
    arch = parser.parse_args()
    torch.set_num_threads(1)
    cache = {}
    total = {"onednn": 0.0, "unfused": 0.0, "ideal": 0.0}
    print("layer | oneDNN bf16 fwd+bwd ms | unfused Winograd ms | fused, zero-overhead ms")
    for module, shape, input_grad in layer_shapes(arch):
        k, stride = module.kernel_size[0], module.stride[0]
        key = (k, stride, module.in_channels, module.out_channels, shape[2], input_grad)
        if key not in cache:
            direct = onednn_bf16(module, shape, input_grad)
            winograd = k == 3 and stride == 1
            unfused = unfused_winograd(module.in_channels, module.out_channels, shape[2], input_grad) if winograd else direct
            cache[key] = (direct, unfused, direct / SAVING if winograd else direct)
        direct, unfused, ideal = cache[key]
        total["onednn"] += direct
        total["unfused"] += unfused
        total["ideal"] += ideal
        print(f"{k}^3 stride {stride} {module.in_channels}->{module.out_channels} on {shape[2]}^3 | "
              f"{direct * 1e3:.1f} | {unfused * 1e3:.1f} | {ideal * 1e3:.1f}")
    print(f"all convolutions | {total['onednn'] * 1e3:.0f} | {total['unfused'] * 1e3:.0f} "
          f"({total['onednn'] / total['unfused']:.2f}x) | {total['ideal'] * 1e3:.0f} "
          f"({total['onednn'] / total['ideal']:.2f}x)")


if __name__ == "__main__":
    main()
