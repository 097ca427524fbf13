"""OpenMM side of tcbackmap's energy benchmark for `npm run bench`.

Times energy + forces of a batch of frames the way OpenMM evaluates them, one
frame at a time (setPositions, getState(energy, forces)), on the Reference and
CPU platforms. The frames come from bench/energy.ts as raw float64 nm [B,N,3], so
both sides evaluate the same coordinates. Prints one JSON object.
Run with Debian's /usr/bin/python3 (python3-simtk).
"""
import argparse
import json
import time

import numpy as np

try:
    import openmm as mm
except ImportError:  # OpenMM < 7.6 names its package simtk.openmm
    from simtk import openmm as mm


def time_platform(system, frames, name, threads, repeats, warmup):
    platform = mm.Platform.getPlatformByName(name)
    properties = {"Threads": str(threads)} if name == "CPU" else {}
    context = mm.Context(system, mm.VerletIntegrator(0.001), platform, properties)
    times, energies = [], []
    for r in range(-warmup, repeats):
        t0 = time.perf_counter()
        batch = []
        for x in frames:
            context.setPositions(x)
            state = context.getState(getEnergy=True, getForces=True)
            state.getForces(asNumpy=True)
            batch.append(state.getPotentialEnergy()._value)
        if r >= 0:
            times.append((time.perf_counter() - t0) * 1e3)
        energies = batch
    return times, energies


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--system", required=True)
    p.add_argument("--coords", required=True, help="raw little-endian float64 [batch, atoms, 3] nm")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    with open(args.system) as f:
        system = mm.XmlSerializer.deserialize(f.read())
    frames = np.fromfile(args.coords, dtype="<f8").reshape(args.batch, system.getNumParticles(), 3)
    out = {"openmm": mm.__version__ if hasattr(mm, "__version__") else mm.Platform.getOpenMMVersion()}
    for name in ("Reference", "CPU"):
        times, energies = time_platform(system, frames, name, args.threads, args.repeats, args.warmup)
        out[name] = times
        out[name + "Energies"] = energies
    print(json.dumps(out))


if __name__ == "__main__":
    main()
