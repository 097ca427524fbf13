#!/usr/bin/env bash
# An ADP model on atomistic runs the training run never showed, each with its own
# reference: what a user's CG simulation can visit that 20 ns at 300 K did not.
#   alphal-300K  1 ns at 300 K started in the alpha-L basin (phi > 0; the
#                training run has 2 such frames of 20,000): scripts/make-adp-alphal.py
#                --runs 1 --ps 1000 --seed 601;
#   adp-400K     5 ns at 400 K (scripts/make-heldout.py --temp 400 --seed 401),
#                which visits alpha-L and is hotter everywhere: the network is
#                trained at 300 K, so its non-bead atoms keep 300 K's spread and
#                the energy is expected cold against this reference.
# Inputs are made once into $INPUTS (seeded). Each run is coarse-grained with the
# model's mapping, backmapped by the network alone (one segment, seed 1, plus any
# backmap options given) and evaluated against its own atomistic run; one JSON
# line per input (scripts/robustness-row.js: frames above the reference's maximum
# energy + 100 kJ/mol, clash frames, flips, drift), plus the evaluation's
# FES JS, energy W1, bond and angle W1 against that run.
#   scripts/heldout.sh [MODEL] [OUT] [backmap options…]
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/adp-cpu.tcbm}
OUT=${2:-$HOME/tcbm-runs/heldout/$(basename "$MODEL" .tcbm)}
shift 2 || shift $#
DATA=${DATA:-../shared/data/adp}
INPUTS=${INPUTS:-$HOME/tcbm-runs/heldout/inputs}
mkdir -p "$OUT" "$INPUTS"
cli() { node bin/tcbackmap.js "$@"; }
if [ ! -f "$INPUTS/alphal-300K.dcd" ]; then
  /usr/bin/python3 scripts/make-adp-alphal.py "$INPUTS/alphal-tmp" --runs 1 --ps 1000 --seed 601 --pdb "$DATA/adp.pdb" >&2
  mv "$INPUTS/alphal-tmp/alphal-01.dcd" "$INPUTS/alphal-300K.dcd"
  rmdir "$INPUTS/alphal-tmp"
fi
[ -f "$INPUTS/adp-400K.dcd" ] ||
  /usr/bin/python3 scripts/make-heldout.py "$INPUTS/adp-400K.dcd" --ns 5 --seed 401 --temp 400 --pdb "$DATA/adp.pdb" >&2
for input in alphal-300K adp-400K; do
  ref=$INPUTS/$input.dcd out=$OUT/$input
  [ -f "$INPUTS/$input-cg.dcd" ] || cli coarse-grain --model "$MODEL" --traj "$ref" --out "$INPUTS/$input-cg.dcd" --json > /dev/null
  [ -f "$INPUTS/$input-energy.json" ] ||
    cli energy --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --traj "$ref" --out "$INPUTS/$input-energy.csv" --json > "$INPUTS/$input-energy.json"
  cli backmap --model "$MODEL" --cg "$INPUTS/$input-cg.dcd" --out "$out.dcd" --threads 1 --seed 1 "$@" --json > "$out-backmap.json"
  cli energy --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --traj "$out.dcd" --out "$out-energy.csv" --json > "$out-energy.json"
  cli evaluate --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --ref "$ref" --traj "$out.dcd" --out "$out-report" --threads 1 --bootstrap 2 --json > /dev/null
  node scripts/robustness-row.js "$input" "$MODEL" "$INPUTS/$input-cg.dcd" "$out" "$INPUTS/$input-energy.json" |
    node -e "
      const row = JSON.parse(require('fs').readFileSync(0, 'utf8'));
      const m = JSON.parse(require('fs').readFileSync('$out-report/metrics.json', 'utf8'));
      const r = (x) => Number(x.toPrecision(4));
      row.reference = { mean: r(m.energy.reference.total.mean), std: r(m.energy.reference.total.std) };
      row.termW1 = Object.fromEntries(Object.entries(m.energy.w1).map(([k, v]) => [k, r(v)]));
      row.bondW1Nm = r(m.summary.bondMeanW1Nm);
      row.angleW1Deg = r(m.summary.angleMeanW1Deg);
      console.log(JSON.stringify(row));"
done
