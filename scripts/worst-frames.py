#!/usr/bin/env python3
"""Why are a backmapped trajectory's worst frames high in energy?

For the N frames of highest internal energy (the System XML's, OpenMM
Reference), prints each force group's share and the three bonds or angles that
cost the most, with their length or angle against the force field's rest value:

  frame 341: 2895 kJ/mol | HarmonicBondForce 1646, HarmonicAngleForce 1325, ...
    ALA2-CB - ALA2-HB1 0.041 nm (r0 0.109): 654; ...

A hydrogen (or carbonyl oxygen) a few hundredths of a nm from its parent is the
signature of a decoder that averaged an atom over the places it could be
(docs/fidelity.md). Needs Debian's python3-simtk and python3-mdtraj (scripts
only, never at run time).

    /usr/bin/python3 scripts/worst-frames.py TOP SYSTEM_XML TRAJ [--frames N] [--above E]
"""
import argparse

import mdtraj
import numpy as np
from openmm import Context, HarmonicAngleForce, HarmonicBondForce, Platform, VerletIntegrator, XmlSerializer
from openmm import unit

KJ = unit.kilojoule_per_mole


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("top")
    p.add_argument("system")
    p.add_argument("traj")
    p.add_argument("--frames", type=int, default=5, help="how many of the worst frames to explain (default 5)")
    p.add_argument("--above", type=float, help="also count the frames above this energy (kJ/mol)")
    a = p.parse_args()

    with open(a.system) as f:
        system = XmlSerializer.deserialize(f.read())
    forces = list(system.getForces())
    for group, force in enumerate(forces):
        force.setForceGroup(group)
    context = Context(system, VerletIntegrator(1e-3), Platform.getPlatformByName("Reference"))
    traj = mdtraj.load(a.traj, top=a.top)
    atoms = [str(atom) for atom in traj.topology.atoms]

    def energy(xyz, groups=-1):
        context.setPositions(xyz.astype(np.float64))
        return context.getState(getEnergy=True, groups=groups).getPotentialEnergy().value_in_unit(KJ)

    energies = np.array([energy(x) for x in traj.xyz])
    summary = f"{a.traj}: {len(energies)} frames, max {energies.max():.1f} kJ/mol, 99th percentile {np.percentile(energies, 99):.1f}"
    if a.above is not None:
        summary += f", {(energies > a.above).sum()} frames above {a.above:g}"
    print(summary)

    # every bond and angle term once: atoms, rest value and force constant in nm, rad, kJ/mol
    bond_terms, angle_terms = [], []
    for f in forces:
        if isinstance(f, HarmonicBondForce):
            for b in range(f.getNumBonds()):
                i, j, r0, kb = f.getBondParameters(b)
                bond_terms.append((i, j, r0.value_in_unit(unit.nanometer), kb.value_in_unit(KJ / unit.nanometer**2)))
        elif isinstance(f, HarmonicAngleForce):
            for n in range(f.getNumAngles()):
                i, j, l, t0, ka = f.getAngleParameters(n)
                angle_terms.append((i, j, l, t0.value_in_unit(unit.radian), ka.value_in_unit(KJ / unit.radian**2)))

    for k in np.argsort(-energies)[: a.frames]:
        x = traj.xyz[k].astype(np.float64)
        shares = ", ".join(f"{type(f).__name__} {energy(x, 1 << g):.0f}" for g, f in enumerate(forces))
        print(f"frame {k}: {energies[k]:.0f} kJ/mol | {shares}")
        costs = []
        for i, j, r0, kb in bond_terms:
            r = np.linalg.norm(x[i] - x[j])
            costs.append((0.5 * kb * (r - r0) ** 2, f"{atoms[i]} - {atoms[j]} {r:.3f} nm (r0 {r0:.3f})"))
        for i, j, l, t0, ka in angle_terms:
            u, v = x[i] - x[j], x[l] - x[j]
            t = np.arccos(np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1.0, 1.0))
            costs.append((0.5 * ka * (t - t0) ** 2, f"{atoms[i]} - {atoms[j]} - {atoms[l]} {np.degrees(t):.0f}° ({np.degrees(t0):.0f}°)"))
        costs.sort(key=lambda c: -c[0])
        print("    " + "; ".join(f"{what}: {cost:.0f}" for cost, what in costs[:3]))


if __name__ == "__main__":
    main()
