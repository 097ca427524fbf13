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

    /usr/bin/python3 scripts/make-cln-runs.py OUTDIR [--snapshots 20,30,45] [--ps 400] [--seed 401]

Writes OUTDIR/heat-<seed>-<t>ps.dcd for each snapshot t and OUTDIR/runs.json
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


def simulation(pdb, temperature, seed):
    ff = app.ForceField("amber14-all.xml", "implicit/gbn2.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds, hydrogenMass=1.5 * u.amu)
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
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    times = sorted(int(t) for t in a.snapshots.split(","))

    pdb = app.PDBFile(a.pdb)
    ref = np.array(pdb.positions.value_in_unit(u.nanometer))
    ca = [at.index for at in pdb.topology.atoms() if at.name == "CA"]

    heat = simulation(pdb, 600, a.seed)
    heat.context.setPositions(pdb.positions)
    heat.minimizeEnergy()
    heat.context.setVelocitiesToTemperature(600 * u.kelvin, a.seed)
    starts, done = {}, 0
    for t in times:
        heat.step((t - done) * 250)
        done = t
        starts[t] = heat.context.getState(getPositions=True).getPositions(asNumpy=True)

    runs = []
    for k, t in enumerate(times):
        seed = a.seed + 1 + k
        sim = simulation(pdb, 340, seed)
        sim.context.setPositions(starts[t])
        sim.minimizeEnergy()
        start_rmsd = ca_rmsd(np.array(sim.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)), ref, ca)
        sim.context.setVelocitiesToTemperature(340 * u.kelvin, seed)
        sim.step(5000)  # 20 ps equilibration, not saved
        name = os.path.join(a.out, f"heat-{a.seed}-{t}ps.dcd")
        sim.reporters.append(app.DCDReporter(name, 250))
        wall = time.time()
        sim.step(a.ps * 250)
        wall = time.time() - wall
        end = np.array(sim.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer))
        runs.append({"file": os.path.basename(name), "heatSeed": a.seed, "heatPs": t, "seed": seed, "startCaRmsdA": round(start_rmsd, 2),
                     "endCaRmsdA": round(ca_rmsd(end, ref, ca), 2), "frames": a.ps, "wallSeconds": round(wall), "nsPerDay": round(a.ps / 1000 / wall * 86400, 1)})
        print(json.dumps(runs[-1]), flush=True)
    with open(os.path.join(a.out, "runs.json"), "w") as f:
        json.dump(runs, f, indent=1)


if __name__ == "__main__":
    main()
