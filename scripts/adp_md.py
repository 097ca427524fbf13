"""The shared ADP data's MD protocol (../shared/data/adp/README.md), for the
scripts that make more runs with it: amber99sbildn + OBC2 implicit solvent,
NoCutoff, HBonds constraints, Langevin 1/ps, 2 fs, OpenMM's Reference platform.
Needs Debian's python3-simtk (scripts only, never at run time)."""
import openmm
import openmm.app as app
import openmm.unit as u


def simulation(pdb, temp, seed, extra_forces=()):
    """An OpenMM Simulation of `pdb` at `temp` K whose integrator draws from `seed`,
    with `extra_forces` (e.g. restraints) added to the protocol's system."""
    ff = app.ForceField("amber99sbildn.xml", "amber99_obc.xml")
    system = ff.createSystem(pdb.topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    for force in extra_forces:
        system.addForce(force)
    integrator = openmm.LangevinMiddleIntegrator(temp * u.kelvin, 1 / u.picosecond, 2 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    return app.Simulation(pdb.topology, system, integrator, openmm.Platform.getPlatformByName("Reference"))


def sample(sim, positions_nm, temp, seed, equil_ps, ps, out, minimise=False):
    """From `positions_nm` (optionally minimised first), velocities at `temp` K
    drawn from `seed`, `equil_ps` not saved, then `ps` frames 1 ps apart to the
    DCD `out`."""
    sim.context.setPositions(positions_nm * u.nanometer)
    if minimise:
        sim.minimizeEnergy()
    sim.context.setVelocitiesToTemperature(temp * u.kelvin, seed)
    sim.step(equil_ps * 500)
    sim.reporters.append(app.DCDReporter(out, 500))
    sim.step(ps * 500)
    del sim.reporters[:]
