#!/usr/bin/env python3
"""300 K runs of alanine dipeptide started in the alpha-L basin (phi > 0).

The shared training run (20 ns at 300 K) has 2 frames with phi > 0 of 20,000,
so a network trained on it has never placed the atoms of that basin; a CG
trajectory that visits it (a CG simulation, or any hotter run) is backmapped
there with strained frames (docs/fidelity.md, eleventh session). This script
samples the basin at the training temperature without changing the conditional
distribution the network learns (atoms given beads at 300 K):

  1. a heated run (--heat-temp, default 400 K, its own seed) finds phi > 0;
  2. --runs starting frames are picked from it, spread over its phi > 0 frames
     (--picks);
  3. from each, a 300 K run (the shared data's protocol: amber99sbildn + OBC2,
     HBonds, Langevin 1/ps, 2 fs) with its own seed: velocities at 300 K,
     --equil-ps not saved, then --ps frames 1 ps apart, written to
     OUT_DIR/alphal-NN.dcd (each file its own trajectory, for `train --traj`).

Prints, per run, the share of its frames with phi > 0. At 400 K the basin is
still rare: one seed's 10 ns found 786 such frames in 4 visits, another's 2;
--heat-temp 450 found 623 in 11 visits (the 300 K runs are unaffected: they
start from the heated frames and are then 300 K runs). Needs Debian's
python3-simtk and python3-mdtraj (scripts only, never at run time).

    /usr/bin/python3 scripts/make-adp-alphal.py OUT_DIR [--runs 16] [--ps 100] [--seed 501]
"""
import argparse
import os
import sys

import mdtraj
import numpy as np
import openmm.app as app
import openmm.unit as u

from adp_md import sample, simulation


def phi_of(topology, positions_nm):
    """phi (rad) of one frame; `topology` is mdtraj's."""
    traj = mdtraj.Trajectory(np.asarray(positions_nm, dtype=np.float32)[None], topology)
    return float(mdtraj.compute_phi(traj)[1][0, 0])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--pdb", default="../shared/data/adp/adp.pdb")
    p.add_argument("--runs", type=int, default=16)
    p.add_argument("--ps", type=int, default=100, help="saved frames per run, 1 ps apart")
    p.add_argument("--equil-ps", type=int, default=5)
    p.add_argument("--heat-temp", type=float, default=400.0)
    p.add_argument("--heat-ns", type=float, default=10.0, help="longest heated search for the starting frames")
    p.add_argument("--seed", type=int, default=501, help="heated run's seed; run i uses seed + 1 + i")
    p.add_argument("--picks", choices=["even", "centred"], default="even",
                   help="even: evenly over the found frames, first and last included (the training sets of "
                        "docs/fidelity.md); centred: the middles of --runs equal shares, never the first frame "
                        "of a visit, which sits on the barrier (with --runs 1, even takes it)")
    a = p.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    pdb = app.PDBFile(a.pdb)

    # 1. the heated search: keep every phi > 0 frame (1 ps apart) until there are
    # enough of them in at least two separate visits, or the time is up.
    heat = simulation(pdb, a.heat_temp, a.seed)
    heat.context.setPositions(pdb.positions)
    heat.minimizeEnergy()
    heat.context.setVelocitiesToTemperature(a.heat_temp * u.kelvin, a.seed)
    heat.step(50_000)
    topology = mdtraj.Topology.from_openmm(pdb.topology)
    found, visits, inside = [], 0, False
    for frame in range(int(a.heat_ns * 1000)):
        heat.step(500)
        pos = heat.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
        now = phi_of(topology, pos) > 0
        if now:
            found.append(pos.copy())
            visits += not inside
        inside = now
        if len(found) >= 20 * a.runs and visits >= 2 and not inside:
            break
    if len(found) < a.runs:
        sys.exit(f"make-adp-alphal: the {a.heat_temp:g} K search found {len(found)} frames with phi > 0 "
                 f"in {frame + 1} ps, fewer than --runs {a.runs}")
    print(f"heated search ({a.heat_temp:g} K, seed {a.seed}): {len(found)} frames with phi > 0 in {visits} visits, "
          f"{frame + 1} ps", file=sys.stderr)

    # 2-3. the 300 K runs, from starting frames spread evenly over those found.
    if a.picks == "even":
        picks = np.linspace(0, len(found) - 1, a.runs).round().astype(int)
    else:
        picks = ((np.arange(a.runs) + 0.5) * len(found) / a.runs).astype(int)
    for i, k in enumerate(picks):
        seed = a.seed + 1 + i
        out = os.path.join(a.out_dir, f"alphal-{i + 1:02d}.dcd")
        sample(simulation(pdb, 300.0, seed), found[k], 300.0, seed, a.equil_ps, a.ps, out)
        traj = mdtraj.load(out, top=a.pdb)
        share = float((mdtraj.compute_phi(traj)[1][:, 0] > 0).mean())
        print(f"wrote {out}: {traj.n_frames} frames at 300 K, seed {seed}, phi > 0 in {100 * share:.0f} %",
              file=sys.stderr)


if __name__ == "__main__":
    main()
