#!/usr/bin/env bash
# Robustness of an ADP model on CG input that does not come from atomistic MD
# (the fidelity issue's item 3): a CG simulation of the 6 beads and the test
# run's CG frames with 0.02 nm noise (scripts/make-cg-inputs.py, made once into
# $OUT/inputs), plus the clean test CG as the control. Each is backmapped by the
# network alone (one segment, seed 1) and checked against the goals: no frame
# above the reference's maximum energy + 100 kJ/mol, no clash frame, no
# chirality flip, and no drift (bead RMSD to the input beads over the last 10 %
# of frames no worse than over the first 10 %). One JSON line per input.
#   scripts/robustness.sh [MODEL] [OUT] [backmap options…]
# REF (default the data's test.dcd) is the atomistic run behind the clean and
# noisy inputs and the reference the energies are measured against; held-out
# inputs for choosing among models, made from a selection run:
#   REF=adp-select.dcd INPUTS=…/select-inputs SIM_SEED=12 scripts/robustness.sh MODEL OUT
# (SIM_SEED seeds the CG simulation and the noise; default 11, the test inputs').
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/adp-cpu.tcbm}
OUT=${2:-$HOME/tcbm-runs/robust/$(basename "$MODEL" .tcbm)}
shift 2 || shift $#
DATA=${DATA:-../shared/data/adp}
INPUTS=${INPUTS:-$HOME/tcbm-runs/robust/inputs}
REF=${REF:-$DATA/test.dcd}
mkdir -p "$OUT" "$INPUTS"
cli() { node bin/tcbackmap.js "$@"; }
[ -f "$INPUTS/cg-sim.dcd" ] ||
  /usr/bin/python3 scripts/make-cg-inputs.py "$INPUTS" --data "$DATA" --noisy-from "$REF" --seed "${SIM_SEED:-11}" >&2
[ -f "$INPUTS/test-cg.dcd" ] || cli coarse-grain --model "$MODEL" --traj "$REF" --out "$INPUTS/test-cg.dcd" --json > /dev/null
[ -f "$INPUTS/reference-energy.json" ] ||
  cli energy --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --traj "$REF" --out "$INPUTS/reference-energy.csv" --json > "$INPUTS/reference-energy.json"
for input in test-cg cg-noisy cg-sim; do
  out=$OUT/$input
  cli backmap --model "$MODEL" --cg "$INPUTS/$input.dcd" --out "$out.dcd" --threads 1 --seed 1 "$@" --json > "$out-backmap.json"
  cli energy --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --traj "$out.dcd" --out "$out-energy.csv" --json > "$out-energy.json"
  cli evaluate --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --ref "$REF" --traj "$out.dcd" --out "$out-report" --threads 1 --bootstrap 2 --json > /dev/null
  node scripts/robustness-row.js "$input" "$MODEL" "$INPUTS/$input.dcd" "$out" "$INPUTS/reference-energy.json"
done
