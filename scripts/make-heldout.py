#!/usr/bin/env python3
"""A held-out atomistic run of alanine dipeptide for validation during training.

Same protocol as ../shared/data/adp (OpenMM, amber99sbildn + OBC2 implicit
solvent, HBonds constraints, Langevin 300 K, 1/ps, 2 fs, a frame every 1 ps)
but its own seed, so the frames are neither training nor test frames.
Optionally at another temperature, for held-out checks the training data
never showed. Needs Debian's python3-simtk and python3-mdtraj (scripts only).

    /usr/bin/python3 scripts/make-heldout.py OUT.dcd [--ns 2] [--seed 103] [--temp 300]
"""
import argparse
import os
import sys

import openmm.app as app
import openmm.unit as u

from adp_md import simulation


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--pdb", default="../shared/data/adp/adp.pdb")
    p.add_argument("--ns", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=103)
    p.add_argument("--temp", type=float, default=300.0)
    a = p.parse_args()
    # before the minutes of MD, not after them: a missing folder is made here
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)

    pdb = app.PDBFile(a.pdb)
    sim = simulation(pdb, a.temp, a.seed)
    sim.context.setPositions(pdb.positions)
    sim.minimizeEnergy()
    sim.context.setVelocitiesToTemperature(a.temp * u.kelvin, a.seed)
    sim.step(50_000)  # 100 ps equilibration, not saved
    frames = int(round(a.ns * 1000))
    sim.reporters.append(app.DCDReporter(a.out, 500))
    sim.step(frames * 500)
    print(f"wrote {a.out}: {frames} frames, 1 ps apart, {a.temp:g} K, seed {a.seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
