#!/usr/bin/env python3
"""CG inputs for alanine dipeptide that do not come from atomistic MD.

Users backmap CG simulations, whose frames are rarer and rougher than the
training data. This makes two such inputs of the 6 ADP beads (ACE:C, ALA:N,
ALA:CA, ALA:C, NME:N, ALA:CB; lib/model/mapping.ts):

  sim:   a CG simulation. A prior is fitted to the training run's CG frames by
         Boltzmann inversion: harmonic bonds and angles (mean and variance of
         each), a harmonic improper for the CB side (chirality), and a CMAP on
         the bead dihedrals (phi, psi) = -kT ln p(phi, psi), smoothed, with a
         ceiling where the training data never went; and, for the beads
         more than three bonds apart (ACE:C and NME:N), a one-sided harmonic
         wall at their closest approach in the training frames (0.288 nm):
         the excluded volume every CG force field has. Langevin dynamics
         (OpenMM Reference, 300 K, 1/ps, 1 fs, bead masses of their atoms),
         a frame every 1 ps.
  noisy: the test run's CG frames with Gaussian noise (default 0.02 nm per
         Cartesian component, per bead and frame); --noisy-from takes another
         run's (a selection run, for held-out inputs that choose among models
         while the test run's stay for the figures).

Without the wall (--no-wall, the input of the sessions before 2026-12-01,
twelfth) 11 of the simulation's 5,000 frames put ACE:C and NME:N closer than
0.8 x their vdW sum, down to 0.237 nm, where 20 ns of MD never goes below
0.288: frames no atomistic structure with its atoms on the beads avoids
clashing in. cg-inputs.json counts such frames for each input ("closest").

Writes DCDs of 6 particles (Angstrom, as every DCD). Needs Debian's
python3-simtk and python3-mdtraj (scripts only, never at run time).

    /usr/bin/python3 scripts/make-cg-inputs.py OUTDIR [--data ../shared/data/adp]
        [--frames 5000] [--noise 0.02] [--seed 11] [--noisy-from RUN.dcd]
"""
import argparse
import json
import math
import os
import sys

import mdtraj
import numpy as np
import openmm
import openmm.unit as u

BEADS = [("ACE", "C"), ("ALA", "N"), ("ALA", "CA"), ("ALA", "C"), ("NME", "N"), ("ALA", "CB")]
BONDS = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 5)]
ANGLES = [(0, 1, 2), (1, 2, 3), (2, 3, 4), (1, 2, 5), (3, 2, 5)]
IMPROPER = (1, 3, 2, 5)  # N, C, CA, CB: the side CB sits on (the CA centre's hand)
PHI, PSI = (0, 1, 2, 3), (1, 2, 3, 4)
KT = 0.0083144626 * 300.0  # kJ/mol
CMAP_BINS = 24
CEILING = 12 * KT  # kJ/mol above the minimum, where the training data never went
ELEMENTS = "CNCCNC"  # the beads' atoms
VDW = {"C": 0.17, "N": 0.155}  # nm, as lib/analysis/clashes.ts
WALL_K = 5e4  # kJ/mol/nm^2: sqrt(kT/k) = 0.007 nm past the wall at 300 K


def far_pairs():
    """Bead pairs more than three bonds apart: no bonded term sees them."""
    n = len(BEADS)
    hops = np.full((n, n), n)
    np.fill_diagonal(hops, 0)
    for i, j in BONDS:
        hops[i, j] = hops[j, i] = 1
    for k in range(n):
        hops = np.minimum(hops, hops[:, [k]] + hops[[k], :])
    return [(i, j) for i in range(n) for j in range(i + 1, n) if hops[i, j] > 3]


def bead_indices(top):
    out = []
    for res, name in BEADS:
        hits = [a.index for a in top.atoms if a.residue.name == res and a.name == name]
        if len(hits) != 1:
            sys.exit(f"make-cg-inputs: the topology has {len(hits)} atoms {res}:{name}, expected 1")
        out.append(hits[0])
    return out


def dihedral(x, q):
    """Dihedral angles (rad, IUPAC sign as OpenMM and mdtraj) of beads q over frames x [T, n, 3]."""
    b1, b2, b3 = x[:, q[1]] - x[:, q[0]], x[:, q[2]] - x[:, q[1]], x[:, q[3]] - x[:, q[2]]
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    y = (np.cross(n1, n2) * b2).sum(1) / np.linalg.norm(b2, axis=1)
    return np.arctan2(y, (n1 * n2).sum(1))


def angle(x, q):
    u1, u2 = x[:, q[0]] - x[:, q[1]], x[:, q[2]] - x[:, q[1]]
    c = (u1 * u2).sum(1) / np.linalg.norm(u1, axis=1) / np.linalg.norm(u2, axis=1)
    return np.arccos(np.clip(c, -1, 1))


def cmap_energy(phi, psi):
    """-kT ln p on OpenMM's CMAP grid (point i at angle i*2pi/CMAP_BINS, from 0), periodic, smoothed, capped."""
    step = 2 * math.pi / CMAP_BINS
    wrap = lambda a: np.mod(a + step / 2, 2 * math.pi) - step / 2  # noqa: E731  (each point at its bin's centre)
    edges = (np.arange(CMAP_BINS + 1) - 0.5) * step
    h, _, _ = np.histogram2d(wrap(phi), wrap(psi), bins=[edges, edges])
    p = h / h.sum()
    # periodic Gaussian smoothing (sd one bin, 15 degrees): the CG landscape is smoother than the data
    k = np.exp(-0.5 * np.arange(-2, 3) ** 2)
    k /= k.sum()
    for axis in (0, 1):
        p = sum(w * np.roll(p, s, axis=axis) for s, w in zip(range(-2, 3), k))
    with np.errstate(divide="ignore"):
        e = -KT * np.log(p)
    e -= e[np.isfinite(e)].min()
    return np.minimum(np.nan_to_num(e, posinf=CEILING), CEILING)


def fit_prior(x):
    prior = {"bonds": [], "angles": [], "improper": None}
    for i, j in BONDS:
        r = np.linalg.norm(x[:, i] - x[:, j], axis=1)
        prior["bonds"].append((i, j, float(r.mean()), float(KT / r.var())))
    for q in ANGLES:
        a = angle(x, q)
        prior["angles"].append((*q, float(a.mean()), float(KT / a.var())))
    d = dihedral(x, IMPROPER)
    mean = float(np.arctan2(np.sin(d).mean(), np.cos(d).mean()))
    dev = np.angle(np.exp(1j * (d - mean)))
    prior["improper"] = (*IMPROPER, mean, float(KT / dev.var()))
    prior["cmap"] = cmap_energy(dihedral(x, PHI), dihedral(x, PSI))
    prior["walls"] = [(i, j, float(np.linalg.norm(x[:, i] - x[:, j], axis=1).min())) for i, j in far_pairs()]
    return prior


def closest(x, prior):
    """Per far pair: its closest approach in frames x, the frames below the training
    frames' closest approach (the wall) and the frames whose beads clash by
    themselves (below 0.8 x the vdW sum, the evaluation's clash line)."""
    out = {}
    for i, j, r_min in prior["walls"]:
        r = np.linalg.norm(x[:, i] - x[:, j], axis=1)
        clash = 0.8 * (VDW[ELEMENTS[i]] + VDW[ELEMENTS[j]])
        out[f"{i}-{j}"] = {"minNm": float(r.min()), "trainingMinNm": r_min, "framesBelowTrainingMin": int((r < r_min).sum()),
                           "framesClashing": int((r < clash).sum())}
    return out


def simulate(prior, start, masses, frames, seed):
    system = openmm.System()
    for m in masses:
        system.addParticle(m)
    bonds = openmm.HarmonicBondForce()
    for i, j, r0, k in prior["bonds"]:
        bonds.addBond(i, j, r0, k)
    angles = openmm.HarmonicAngleForce()
    for i, j, l, a0, k in prior["angles"]:
        angles.addAngle(i, j, l, a0, k)
    improper = openmm.CustomTorsionForce("0.5*k*d^2; d = atan2(sin(theta - theta0), cos(theta - theta0))")
    improper.addPerTorsionParameter("theta0")
    improper.addPerTorsionParameter("k")
    i, j, l, m, t0, k = prior["improper"]
    improper.addTorsion(i, j, l, m, [t0, k])
    cmap = openmm.CMAPTorsionForce()
    # OpenMM's CMAP: energy[i + CMAP_BINS * j] at phi = i * 2pi / CMAP_BINS, psi = j * 2pi / CMAP_BINS
    grid = prior["cmap"]
    cmap.addMap(CMAP_BINS, [float(grid[i, j]) for j in range(CMAP_BINS) for i in range(CMAP_BINS)])
    cmap.addTorsion(0, *PHI, *PSI)
    for f in (bonds, angles, improper, cmap):
        system.addForce(f)
    if prior["walls"]:
        wall = openmm.CustomBondForce("step(r0 - r) * 0.5 * k * (r - r0)^2")
        wall.addGlobalParameter("k", WALL_K)
        wall.addPerBondParameter("r0")
        for i, j, r_min in prior["walls"]:
            wall.addBond(i, j, [r_min])
        system.addForce(wall)
    integrator = openmm.LangevinMiddleIntegrator(300 * u.kelvin, 1 / u.picosecond, 1 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(start)
    openmm.LocalEnergyMinimizer.minimize(context)
    context.setVelocitiesToTemperature(300 * u.kelvin, seed)
    integrator.step(100_000)  # 100 ps equilibration, not saved
    out = np.empty((frames, len(masses), 3), np.float32)
    for f in range(frames):
        integrator.step(1000)
        out[f] = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
    return out


def write_dcd(path, x):
    with mdtraj.formats.DCDTrajectoryFile(path, "w") as f:
        f.write(x * 10.0)  # nm -> Angstrom


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir")
    p.add_argument("--data", default="../shared/data/adp")
    p.add_argument("--frames", type=int, default=5000)
    p.add_argument("--noise", type=float, default=0.02, help="nm, per Cartesian component")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--noisy-from", help="the atomistic run whose CG frames get the noise (default: the data's test.dcd)")
    p.add_argument("--no-wall", action="store_true",
                   help="no excluded volume between far beads (the CG simulation of the sessions before 2026-12-01, twelfth)")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    top = mdtraj.load_topology(os.path.join(a.data, "adp.pdb"))
    beads = bead_indices(top)
    masses = [top.atom(i).element.mass for i in beads]
    train = mdtraj.load(os.path.join(a.data, "train.dcd"), top=top).xyz[:, beads]
    noisy_from = a.noisy_from or os.path.join(a.data, "test.dcd")
    test = mdtraj.load(noisy_from, top=top).xyz[:, beads]

    prior = fit_prior(train)
    sim = simulate({**prior, "walls": [] if a.no_wall else prior["walls"]}, train[0].astype(np.float64), masses, a.frames, a.seed)
    write_dcd(os.path.join(a.outdir, "cg-sim.dcd"), sim)
    rng = np.random.default_rng(a.seed)
    noisy = (test + rng.normal(0.0, a.noise, test.shape)).astype(np.float32)
    write_dcd(os.path.join(a.outdir, "cg-noisy.dcd"), noisy)

    def share(x):
        phi = dihedral(x, PHI)
        psi = dihedral(x, PSI)
        alpha_r = (phi < 0) & (psi > -2.0944) & (psi < 0.8727)
        return {"alphaR": float(alpha_r.mean()), "alphaL": float((phi > 0).mean())}

    summary = {
        "sim": {"frames": int(len(sim)), "dtPs": 1, "wall": not a.no_wall, **share(sim), "closest": closest(sim, prior),
                "bondRms": {f"{i}-{j}": float(np.linalg.norm(sim[:, i] - sim[:, j], axis=1).std()) for i, j, _, _ in prior["bonds"]}},
        "train": {**share(train),
                  "bondRms": {f"{i}-{j}": float(np.linalg.norm(train[:, i] - train[:, j], axis=1).std()) for i, j, _, _ in prior["bonds"]}},
        "noisy": {"frames": int(len(noisy)), "from": os.path.basename(noisy_from), "noiseNm": a.noise, "seed": a.seed,
                  "closest": closest(noisy, prior)},
    }
    with open(os.path.join(a.outdir, "cg-inputs.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
