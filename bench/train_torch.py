"""PyTorch mirror of tcbackmap's cVAE training step for `npm run bench`.

The same architecture as native/core/model/model.cpp (residual 3-D CNN encoder and
decoder, GroupNorm(1), LeakyReLU(0.01)), the same six loss terms, Adam and
gradient-norm clipping, written the way a PyTorch user would: separable
voxelize/collapse as tensor expressions, and (with --system) the force-field
energy of an OpenMM System XML as plain-autograd float64 tensor code, with the
same floors and soft clamp as ours. The batch (and the CG mapping matrix) come
from bench/train.ts as raw float32, so both sides train on the same inputs.
Prints one JSON object: parameter count and per-step milliseconds of each case.
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import math
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LEAKY = 0.01


def leaky(x):
    return F.leaky_relu(x, LEAKY)


class Norm(nn.GroupNorm):
    """GroupNorm(1) in fp32: under bf16 autocast the convolution before it
    returns bf16, which torch 1.13's CPU group_norm refuses with fp32 weights."""

    def forward(self, x):
        return super().forward(x.float())


def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv3d(cin, cout, k, stride=stride, padding=k // 2, bias=bias)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv1 = conv(cin, cout, 3, stride)
        self.norm1 = Norm(1, cout)
        self.conv2 = conv(cout, cout, 3)
        self.norm2 = Norm(1, cout)
        self.project = conv(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = leaky(self.norm1(self.conv1(x)))
        h = self.norm2(self.conv2(h))
        shortcut = F.max_pool3d(x, self.stride) if self.stride > 1 else x
        if self.project is not None:
            shortcut = self.project(shortcut)
        return leaky(h + shortcut)


class Encoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.stem = conv(2 * a.atoms + a.beads, a.enc, a.encoder_stem)
        self.stem_norm = Norm(1, a.enc)
        self.blocks = nn.ModuleList(ResidualBlock(a.enc, a.enc, s) for s in (1, 2, 1, 2, 1))
        flat = a.enc * (a.grid // 4) ** 3
        self.mu = nn.Linear(flat, a.latent)
        self.logvar = nn.Linear(flat, a.latent)

    def forward(self, v):
        h = leaky(self.stem_norm(self.stem(v)))
        for b in self.blocks:
            h = b(h)
        h = h.flatten(1)
        return self.mu(h).float(), self.logvar(h).float()


class Decoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        w = a.dec
        self.grid = a.grid
        self.condition_stem = conv(a.atoms + a.beads, w, 3)
        self.condition_norm = Norm(1, w)
        self.condition_blocks = nn.ModuleList(ResidualBlock(w, w, 1) for _ in range(a.condition))
        self.latent_reference = a.latent_path == "reference"
        if self.latent_reference:
            # z as (latent/8, 2, 2, 2), replication-padded to the grid, a 5^3 convolution
            self.latent_stem = conv(a.latent // 8, w, 5, bias=True)
            self.pad = nn.ReplicationPad3d((a.grid - 2) // 2)
        else:
            self.latent_stem = conv(a.latent, w, 3)
            self.latent_norm = Norm(1, w)
        self.trunk = nn.ModuleList([ResidualBlock(2 * w, 2 * w, 1) for _ in range(a.trunk)] + [ResidualBlock(2 * w, w, 1)])
        self.head = conv(w, a.atoms, 3, bias=True)
        with torch.no_grad():
            self.head.bias.fill_(-4.0)

    def forward(self, condition, z):
        h = leaky(self.condition_norm(self.condition_stem(condition)))
        for b in self.condition_blocks:
            h = b(h)
        g = self.grid
        if self.latent_reference:
            l = leaky(self.latent_stem(self.pad(z.view(z.shape[0], z.shape[1] // 8, 2, 2, 2))))
        else:
            zg = z.view(z.shape[0], z.shape[1], 1, 1, 1).expand(-1, -1, g, g, g).contiguous()
            l = leaky(self.latent_norm(self.latent_stem(zg)))
        h = torch.cat([h, l], 1)
        for b in self.trunk:
            h = b(h)
        return torch.sigmoid(self.head(h).float())


class Cvae(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.encoder = Encoder(a)
        self.decoder = Decoder(a)


def voxelize(x, grid, width, sigma):
    g = torch.linspace(-width / 2, width / 2, grid)
    e = torch.exp(-(g.view(1, 1, 1, -1) - x.unsqueeze(-1)).square() / (2 * sigma * sigma))
    ex, ey, ez = e[:, :, 0], e[:, :, 1], e[:, :, 2]
    return ex[..., :, None, None] * ey[..., None, :, None] * ez[..., None, None, :]


def collapse(d, width):
    g = torch.linspace(-width / 2, width / 2, d.shape[2])
    m = torch.stack([d.sum((3, 4)), d.sum((2, 4)), d.sum((2, 3))], 2)
    return (m * g).sum(-1) / m[:, :, 0].sum(-1).clamp_min(1e-12).unsqueeze(-1)


def distance_matrix(x):
    return ((x.unsqueeze(2) - x.unsqueeze(1)).square().sum(-1) + 1e-12).sqrt()


class ForceField:
    """HarmonicBond/Angle, PeriodicTorsion and NoCutoff Nonbonded of an OpenMM System XML, float64 autograd."""

    ONE_4PI_EPS0 = 138.935456
    MIN_PAIR2 = 1e-2 ** 2
    MIN_LENGTH2 = 1e-6 ** 2
    MAX_COS = 1.0 - 1e-7

    def __init__(self, path):
        forces = {f.get("type"): f for f in ET.parse(path).getroot().find("Forces")}
        t = lambda rows, dtype=torch.float64: torch.tensor(rows, dtype=dtype)
        bonds = forces["HarmonicBondForce"].find("Bonds")
        self.bond_i = t([[int(b.get("p1")), int(b.get("p2"))] for b in bonds], torch.long)
        self.bond_k = t([float(b.get("k")) for b in bonds])
        self.bond_d = t([float(b.get("d")) for b in bonds])
        angles = forces["HarmonicAngleForce"].find("Angles")
        self.angle_i = t([[int(a.get(f"p{k}")) for k in (1, 2, 3)] for a in angles], torch.long)
        self.angle_k = t([float(a.get("k")) for a in angles])
        self.angle_a = t([float(a.get("a")) for a in angles])
        tors = forces["PeriodicTorsionForce"].find("Torsions")
        self.tors_i = t([[int(a.get(f"p{k}")) for k in (1, 2, 3, 4)] for a in tors], torch.long)
        self.tors_k = t([float(a.get("k")) for a in tors])
        self.tors_n = t([float(a.get("periodicity")) for a in tors])
        self.tors_phase = t([float(a.get("phase")) for a in tors])
        nb = forces["NonbondedForce"]
        q, sig, eps = zip(*[(float(p.get("q")), float(p.get("sig")), float(p.get("eps"))) for p in nb.find("Particles")])
        n = len(q)
        pairs = {(i, j): (self.ONE_4PI_EPS0 * q[i] * q[j], 0.5 * (sig[i] + sig[j]), math.sqrt(eps[i] * eps[j]))
                 for i in range(n) for j in range(i + 1, n)}
        for e in nb.find("Exceptions"):
            i, j = sorted((int(e.get("p1")), int(e.get("p2"))))
            qq, s, ep = float(e.get("q")), float(e.get("sig")), float(e.get("eps"))
            if qq == 0 and ep == 0:
                pairs.pop((i, j), None)  # fully excluded: no term at all
            else:
                pairs[(i, j)] = (self.ONE_4PI_EPS0 * qq, s, ep)
        keys = sorted(pairs)
        self.pair_i = t(keys, torch.long)
        self.pair_qq = t([pairs[k][0] for k in keys])
        self.pair_sig = t([pairs[k][1] for k in keys])
        self.pair_eps = t([pairs[k][2] for k in keys])

    def __call__(self, coords, clamp):
        x = coords.double()
        at = lambda index, c: x[:, index[:, c]]
        dot = lambda a, b: (a * b).sum(-1)
        d = at(self.bond_i, 0) - at(self.bond_i, 1)
        r = dot(d, d).clamp_min(self.MIN_LENGTH2).sqrt()
        e = (0.5 * self.bond_k * (r - self.bond_d).square()).sum(-1)
        xj = at(self.angle_i, 1)
        u, v = at(self.angle_i, 0) - xj, at(self.angle_i, 2) - xj
        uu, vv = dot(u, u).clamp_min(self.MIN_LENGTH2), dot(v, v).clamp_min(self.MIN_LENGTH2)
        c = (dot(u, v) / (uu * vv).sqrt()).clamp(-self.MAX_COS, self.MAX_COS)
        e = e + (0.5 * self.angle_k * (torch.acos(c) - self.angle_a).square()).sum(-1)
        xb, xc = at(self.tors_i, 1), at(self.tors_i, 2)
        b1, b2, b3 = xb - at(self.tors_i, 0), xc - xb, at(self.tors_i, 3) - xc
        n1, n2 = torch.linalg.cross(b1, b2, dim=-1), torch.linalg.cross(b2, b3, dim=-1)
        cx, cy = dot(n1, n2), dot(b2, b2).clamp_min(self.MIN_LENGTH2).sqrt() * dot(b1, n2)
        ok = (cx.square() + cy.square()) > 0
        phi = torch.atan2(torch.where(ok, cy, torch.zeros_like(cy)), torch.where(ok, cx, torch.ones_like(cx)))
        e = e + (self.tors_k * (1 + torch.cos(self.tors_n * phi - self.tors_phase))).sum(-1)
        d = at(self.pair_i, 0) - at(self.pair_i, 1)
        r2 = dot(d, d).clamp_min(self.MIN_PAIR2)
        s6 = (self.pair_sig.square() / r2).pow(3)
        e = e + (self.pair_qq * r2.rsqrt() + 4 * self.pair_eps * (s6.square() - s6)).sum(-1)
        if clamp > 0:
            e = torch.where(e > clamp, torch.log1p((e - clamp).clamp_min(0)) + clamp, e)
        return e


def time_steps(a, data, energy, gamma, clamp, repeats, warmup):
    torch.manual_seed(a.seed)
    model = Cvae(a)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    aa_t, aa_prev, cg_t, eps, mapping = data
    times, last = [], None
    for r in range(-warmup, repeats):
        profiler = None
        if a.profile and r == repeats - 1:
            profiler = torch.autograd.profiler.profile(record_shapes=True)
            profiler.__enter__()
        t0 = time.perf_counter()
        with torch.no_grad():
            vt, vp, vc = (voxelize(x, a.grid, a.width, gaussian_std(a)) for x in (aa_t, aa_prev, cg_t))
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            mu, logvar = model.encoder(torch.cat([vt, vp, vc], 1))
            z = mu + eps * torch.exp(0.5 * logvar)
            density = model.decoder(torch.cat([vp, vc], 1), z)
        coords = collapse(density, a.width)
        terms = {
            "voxel": F.mse_loss(density, vt),
            "coord": F.mse_loss(own_centre(a, coords), aa_t),
            "cg": F.mse_loss(own_centre(a, torch.matmul(mapping, coords)), cg_t),
            "edm": F.mse_loss(distance_matrix(coords), distance_matrix(aa_t)),
            "kl": (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)).mean(),
        }
        total = terms["voxel"] + terms["coord"] + terms["cg"] + a.edm_weight * terms["edm"] + a.beta * a.kl_factor * terms["kl"]
        if energy is not None:
            with torch.no_grad():
                e_true = energy(aa_t, clamp)
            terms["energy"] = F.mse_loss(energy(coords, clamp).float(), e_true.float())
            total = total + gamma * terms["energy"]
        report = {k: v.item() for k, v in terms.items()}
        report["total"] = total.item()
        total.backward()
        report["gradNorm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip))
        opt.step()
        if r >= 0:
            times.append((time.perf_counter() - t0) * 1e3)
        if profiler is not None:
            profiler.__exit__(None, None, None)
            print(profiler.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=25), file=sys.stderr)
        last = report
    return times, last, sum(p.numel() for p in model.parameters())


def gaussian_std(a):
    """The Gaussian's standard deviation: the reference code's exp(-d^2/s) has sqrt(s/2)."""
    return math.sqrt(a.sigma / 2) if a.gaussian == "reference" else a.sigma


def own_centre(a, x):
    """Under the reference's centring the targets sit on their own means: compare shapes."""
    return x - x.mean(1, keepdim=True) if a.centring == "own" else x


def add_architecture_args(p):
    """The model's shape, defaulting to the `adp` preset (lib/model/presets.ts)."""
    p.add_argument("--atoms", type=int, default=22)
    p.add_argument("--beads", type=int, default=6)
    p.add_argument("--grid", type=int, default=12)
    p.add_argument("--width", type=float, default=1.8)
    p.add_argument("--sigma", type=float, default=0.05398, help="the paper's sigma: s of exp(-d^2/s) under --gaussian reference")
    p.add_argument("--gaussian", choices=["reference", "std"], default="reference")
    p.add_argument("--centring", choices=["own", "cg"], default="own")
    p.add_argument("--encoder-stem", type=int, choices=[3, 5], default=5)
    p.add_argument("--latent-path", choices=["reference", "broadcast"], default="reference")
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--enc", type=int, default=32)
    p.add_argument("--dec", type=int, default=32)
    p.add_argument("--condition", type=int, default=2)
    p.add_argument("--trunk", type=int, default=3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", required=True, help="raw float32: aaT, aaPrev [B,N,3], cgT [B,n,3], eps [B,L], mapping [n,N]")
    p.add_argument("--batch", type=int, default=32)
    add_architecture_args(p)
    p.add_argument("--lr", type=float, default=1.398e-4)
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--kl-factor", type=float, default=1.0, help="batch / training pairs under the reference's KL weight")
    p.add_argument("--edm-weight", type=float, default=0.5)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--system", help="OpenMM System XML: adds the energy case")
    p.add_argument("--gamma", type=float, default=1.0)
    p.add_argument("--clamp", type=float, default=1e5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bf16", action="store_true", help="convolutions and linear layers under bf16 autocast (fp32 master weights)")
    p.add_argument("--profile", action="store_true", help="print the autograd profile of the last step to stderr")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    B, N, n, L = a.batch, a.atoms, a.beads, a.latent
    raw = torch.from_numpy(np.fromfile(a.inputs, dtype="<f4"))
    sizes = [B * N * 3, B * N * 3, B * n * 3, B * L, n * N]
    assert raw.numel() == sum(sizes), f"inputs hold {raw.numel()} floats, expected {sum(sizes)}"
    aa_t, aa_prev, cg_t, eps, mapping = torch.split(raw, sizes)
    data = (aa_t.view(B, N, 3), aa_prev.view(B, N, 3), cg_t.view(B, n, 3), eps.view(B, L), mapping.view(n, N))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    out["noEnergy"], out["noEnergyLoss"], out["parameters"] = time_steps(a, data, None, 0, 0, a.repeats, a.warmup)
    if a.system:
        out["energy"], out["energyLoss"], _ = time_steps(a, data, ForceField(a.system), a.gamma, a.clamp, a.repeats, a.warmup)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
