#!/usr/bin/env python3
"""More chignolin training runs between folded and unfolded, made as ../shared/data/chignolin's were.

The shared runs cover the folded state (train-01, 04, 06, 07) and the
unfolded one (train-02, 03, 08), with little between; the test run
(test.dcd) sits between (CA RMSD 2.4-4.6 A). This heats the minimised
crystal structure at 600 K with its own seed and starts one 340 K run from
each requested snapshot of that heating: the same force field (amber14-all +
GBn2), hydrogen-mass repartitioning (1.5 amu), HBonds constraints,
LangevinMiddle 340 K at 1/ps and 4 fs, minimisation, 20 ps of equilibration,
a frame every 1 ps. None of the test run's frames or starts is used.
Needs Debian's python3-simtk (scripts only, never at run time).

`--solvent obc2` trades the shared data's GBn2 for OBC2, the same protein
force field (ff14SB) in a cheaper implicit solvent: amber14's obc2.xml
parameters moved into OpenMM's native GBSAOBCForce, which gives the
CustomGBForce's energies to 1e-3 kJ/mol at 3.5x its speed (a short benchmark
on one core: 211 against 61 ns/day, GBn2 49; 32 production runs of 550 ps ran
at 480-540 ns/day, the shared GBn2 runs at 36-49). The runs then differ from
the shared data in the solvent only: ten times the frames between the states
for the same core-hours.

    /usr/bin/python3 scripts/make-cln-runs.py OUTDIR [--snapshots 20,30,45] [--ps 400] [--seed 401] [--solvent gbn2|obc2]

Writes OUTDIR/heat-<seed>-<t>ps[-obc2].dcd for each snapshot t and OUTDIR/runs-<seed>[-obc2].json
(each run's start, CA RMSD to the crystal at the start, frames, wall time).
"""
import argparse
import json
import os
import time

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as u


def ca_rmsd(pos, ref, ca):
    """CA RMSD (A) after optimal superposition."""
    a, b = pos[ca] - pos[ca].mean(0), ref[ca] - ref[ca].mean(0)
    v, s, wt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(v @ wt))
    s[-1] *= d
    e = max((a * a).sum() + (b * b).sum() - 2 * s.sum(), 0.0)
    return 10 * np.sqrt(e / len(ca))


def native_obc2(system):
    """Replace amber14 obc2.xml's CustomGBForce by the native GBSAOBCForce (OBC II, ACE surface term) with its radii and scales."""
    k = next(i for i, f in enumerate(system.getForces()) if isinstance(f, openmm.CustomGBForce))
    custom, native = system.getForce(k), openmm.GBSAOBCForce()
    native.setNonbondedMethod(openmm.GBSAOBCForce.NoCutoff)
    native.setSolventDielectric(78.5)
    native.setSoluteDielectric(1.0)
    for i in range(custom.getNumParticles()):
        charge, offset_radius, scaled_radius = custom.getParticleParameters(i)
        # obc2.xml keeps radius - 0.009 nm and scale x (radius - 0.009); the native force takes radius and scale
        native.addParticle(charge, offset_radius + 0.009, scaled_radius / offset_radius)
    system.removeForce(k)
    system.addForce(native)


def simulation(pdb, temperature, seed, solvent="gbn2"):
    ff = app.ForceField("amber14-all.xml", f"implicit/{solvent}.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds, hydrogenMass=1.5 * u.amu)
    if solvent == "obc2":
        native_obc2(system)
    integrator = openmm.LangevinMiddleIntegrator(temperature * u.kelvin, 1 / u.picosecond, 4 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    platform = openmm.Platform.getPlatformByName("CPU")
    return app.Simulation(pdb.topology, system, integrator, platform, {"Threads": "1"})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--pdb", default="../shared/data/chignolin/cln.pdb")
    p.add_argument("--snapshots", default="20,30,45", help="600 K heating times (ps) to start from")
    p.add_argument("--ps", type=int, default=400, help="production length of each run (frames, 1 ps apart)")
    p.add_argument("--seed", type=int, default=401)
    p.add_argument("--solvent", choices=["gbn2", "obc2"], default="gbn2", help="implicit solvent (default gbn2, as the shared data)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    times = sorted(int(t) for t in a.snapshots.split(","))

    pdb = app.PDBFile(a.pdb)
    ref = np.array(pdb.positions.value_in_unit(u.nanometer))
    ca = [at.index for at in pdb.topology.atoms() if at.name == "CA"]

    heat = simulation(pdb, 600, a.seed, a.solvent)
    heat.context.setPositions(pdb.positions)
    heat.minimizeEnergy()
    heat.context.setVelocitiesToTemperature(600 * u.kelvin, a.seed)
    starts, done = {}, 0
    for t in times:
        heat.step((t - done) * 250)
        done = t
        starts[t] = heat.context.getState(getPositions=True).getPositions(asNumpy=True)

    runs, tag = [], "" if a.solvent == "gbn2" else f"-{a.solvent}"
    for k, t in enumerate(times):
        seed = a.seed + 1 + k
        sim = simulation(pdb, 340, seed, a.solvent)
        sim.context.setPositions(starts[t])
        sim.minimizeEnergy()
        start_rmsd = ca_rmsd(np.array(sim.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)), ref, ca)
        sim.context.setVelocitiesToTemperature(340 * u.kelvin, seed)
        sim.step(5000)  # 20 ps equilibration, not saved
        name = os.path.join(a.out, f"heat-{a.seed}-{t}ps{tag}.dcd")
        sim.reporters.append(app.DCDReporter(name, 250))
        wall = time.time()
        sim.step(a.ps * 250)
        wall = time.time() - wall
        end = np.array(sim.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer))
        runs.append({"file": os.path.basename(name), "solvent": a.solvent, "heatSeed": a.seed, "heatPs": t, "seed": seed, "startCaRmsdA": round(start_rmsd, 2),
                     "endCaRmsdA": round(ca_rmsd(end, ref, ca), 2), "frames": a.ps, "wallSeconds": round(wall), "nsPerDay": round(a.ps / 1000 / wall * 86400, 1)})
        print(json.dumps(runs[-1]), flush=True)
    with open(os.path.join(a.out, f"runs-{a.seed}{tag}.json"), "w") as f:
        json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
