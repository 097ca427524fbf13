"""Provenance of data/: small slices of ../shared/data for the demo and tests.

Run from the repository root with Debian's /usr/bin/python3 (python3-mdtraj):
    /usr/bin/python3 scripts/make-sample-data.py
The sources are described in ../shared/data/*/README.md (OpenMM 7.7 reference MD).
"""
import os
import shutil

import mdtraj as md

SHARED = os.path.join("..", "shared", "data")

# Alanine dipeptide: topology, vacuum force field, the first 1000 ps of the test run.
shutil.copy(os.path.join(SHARED, "adp", "adp.pdb"), "data/adp/adp.pdb")
shutil.copy(os.path.join(SHARED, "adp", "system-vacuum.xml"), "data/adp/system-vacuum.xml")
adp = md.load(os.path.join(SHARED, "adp", "test.dcd"), top="data/adp/adp.pdb")
adp[:1000].save_dcd("data/adp/test-1000.dcd")
# the same frames as XTC written by mdtraj (the codec tests compare ours with it)
adp[:1000].save_xtc("data/adp/test-1000.xtc")
# OpenMM's energies of the first 20 test frames (the energy tests' reference)
shutil.copy(os.path.join(SHARED, "adp", "energies.json"), "data/adp/energies.json")

# Chignolin: topology, vacuum force field, the first 200 ps of the (unfolded) test run.
shutil.copy(os.path.join(SHARED, "chignolin", "cln.pdb"), "data/chignolin/cln.pdb")
shutil.copy(os.path.join(SHARED, "chignolin", "system-vacuum.xml"), "data/chignolin/system-vacuum.xml")
cln = md.load(os.path.join(SHARED, "chignolin", "test.dcd"), top="data/chignolin/cln.pdb")
cln[:200].save_dcd("data/chignolin/test-200.dcd")
shutil.copy(os.path.join(SHARED, "chignolin", "energies.json"), "data/chignolin/energies.json")
print("data/ written")
