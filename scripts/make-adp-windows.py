#!/usr/bin/env python3
"""300 K alanine dipeptide runs restrained to the parts of the Ramachandran plane
that the training runs leave empty.

A CG simulation of the 6 beads crosses regions that 20 ns of 300 K MD hardly
visits: the ridge between the alpha-R/beta and alpha-L basins (phi -45 ... -10
degrees, psi near -120), the edges of every basin. A network never shown a frame
there mixes the basins it knows and puts atoms on top of each other
(docs/fidelity.md, eleventh and twelfth sessions). This script samples those
regions at the training temperature without changing what the network learns:

  * phi (ACE C, ALA N, CA, C) and psi (ALA N, CA, C, NME N) are dihedrals of
    bead atoms only (the mapping's beads are ACE C, ALA N, CA, C, NME N, CB), so
    a restraint on them biases only the beads' marginal; the distribution of
    every other atom given the beads stays the 300 K one of the shared protocol;
  * the plane is cut into --step x --step degree cells; every cell holding fewer
    than --min-frames frames of the --have runs gets one window: a harmonic
    restraint (--k kJ/mol/rad^2 on each angle) at the cell's centre, started
    from the --have frame nearest to it, minimised, given velocities at 300 K,
    equilibrated --equil-ps (not saved), then --ps frames 1 ps apart;
  * each window is written as its own trajectory, OUT_DIR/win-PHI-PSI.dcd
    (degrees, for `train --traj`).

Prints the windows' count and, per window, where its frames sit. Needs Debian's
python3-simtk and python3-mdtraj (scripts only, never at run time).

    /usr/bin/python3 scripts/make-adp-windows.py OUT_DIR --have TRAIN.dcd [--have MORE.dcd ...]
        [--step 30] [--min-frames 20] [--k 200] [--ps 30] [--equil-ps 5] [--seed 801]
"""
import argparse
import math
import os
import sys

import mdtraj
import numpy as np
import openmm
import openmm.app as app

from adp_md import sample, simulation

PHI = (4, 6, 8, 14)  # ACE C, ALA N, ALA CA, ALA C (0-based, adp.pdb's order)
PSI = (6, 8, 14, 16)  # ALA N, ALA CA, ALA C, NME N


def wrap(a):
    """Angles (rad) into [-pi, pi)."""
    return (np.asarray(a) + math.pi) % (2 * math.pi) - math.pi


def restraint(k, phi0, psi0):
    """Harmonic restraints on phi and psi (periodic difference), k in kJ/mol/rad^2."""
    f = openmm.CustomTorsionForce("0.5*k*d^2; d = min(a, 2*pi - a); a = abs(theta - theta0); pi = 3.141592653589793")
    f.addGlobalParameter("k", k)
    f.addPerTorsionParameter("theta0")
    f.addTorsion(*PHI, [phi0])
    f.addTorsion(*PSI, [psi0])
    return f


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--pdb", default="../shared/data/adp/adp.pdb")
    p.add_argument("--have", action="append", required=True, help="a run whose frames count as covered (repeatable)")
    p.add_argument("--step", type=float, default=30.0, help="cell size, degrees (must divide 360)")
    p.add_argument("--min-frames", type=int, default=20, help="a cell with fewer --have frames gets a window")
    p.add_argument("--k", type=float, default=200.0, help="restraint, kJ/mol/rad^2 on each angle (200: 6.4 degrees at 300 K)")
    p.add_argument("--ps", type=int, default=30, help="saved frames per window, 1 ps apart")
    p.add_argument("--equil-ps", type=int, default=5)
    p.add_argument("--seed", type=int, default=801, help="window i uses seed + i")
    a = p.parse_args()
    cells = 360.0 / a.step
    if abs(cells - round(cells)) > 1e-9:
        sys.exit(f"make-adp-windows: --step {a.step:g} does not divide 360")
    cells = int(round(cells))
    os.makedirs(a.out_dir, exist_ok=True)

    have = mdtraj.join([mdtraj.load(f, top=a.pdb) for f in a.have])
    dihedrals = mdtraj.compute_dihedrals(have, [PHI, PSI])  # (frames, 2), rad
    width = math.radians(a.step)
    index = np.floor((dihedrals + math.pi) / width).astype(int) % cells
    counts = np.zeros((cells, cells), dtype=int)
    np.add.at(counts, (index[:, 0], index[:, 1]), 1)
    empty = [(i, j) for i in range(cells) for j in range(cells) if counts[i, j] < a.min_frames]
    print(f"{len(have)} frames of {len(a.have)} runs cover {cells * cells - len(empty)} of {cells * cells} cells "
          f"of {a.step:g} degrees with >= {a.min_frames} frames; {len(empty)} windows", file=sys.stderr)

    pdb = app.PDBFile(a.pdb)
    topology = mdtraj.Topology.from_openmm(pdb.topology)
    for n, (i, j) in enumerate(empty):
        phi0, psi0 = -math.pi + (i + 0.5) * width, -math.pi + (j + 0.5) * width
        off = wrap(dihedrals - [phi0, psi0])
        start = have.xyz[int(np.argmin((off ** 2).sum(axis=1)))]
        seed = a.seed + n
        out = os.path.join(a.out_dir, f"win{math.degrees(phi0):+04.0f}{math.degrees(psi0):+04.0f}.dcd")
        sim = simulation(pdb, 300.0, seed, [restraint(a.k, phi0, psi0)])
        sample(sim, start, 300.0, seed, a.equil_ps, a.ps, out, minimise=True)
        got = mdtraj.compute_dihedrals(mdtraj.load(out, top=topology), [PHI, PSI])
        mean = np.degrees(np.angle(np.exp(1j * got).mean(axis=0)))
        spread = np.degrees(np.abs(wrap(got - np.radians(mean))).mean(axis=0))
        print(f"wrote {out}: centre ({math.degrees(phi0):+.0f}, {math.degrees(psi0):+.0f}), frames at "
              f"({mean[0]:+.0f} +- {spread[0]:.0f}, {mean[1]:+.0f} +- {spread[1]:.0f}) degrees, seed {seed}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
