#!/usr/bin/env bash
# How often an ADP model's rollout puts out a frame above the robustness line
# (the reference's maximum energy + 100 kJ/mol), measured on S independent
# rollouts (seeds 1..S) of each CG input of scripts/robustness.sh. One rollout
# has only a handful of such frames (robustness.sh counts them), too few to tell
# two training recipes apart; S rollouts give S × 5,000 frames. One JSON line per
# input: frames, frames above the line, their rate, and the worst frame's energy.
#   scripts/tail-rate.sh MODEL OUT [SAMPLES=8]
# ONLY (default "test-cg cg-noisy cg-sim") names the inputs to measure, e.g.
# ONLY="cg-noisy cg-sim" to screen candidates on the rough inputs first.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$1 OUT=$2 S=${3:-8}
DATA=${DATA:-../shared/data/adp}
INPUTS=${INPUTS:-$HOME/tcbm-runs/robust/inputs}
[ -f "$INPUTS/reference-energy.json" ] || { echo "tail-rate.sh: run scripts/robustness.sh once first (it makes $INPUTS)" >&2; exit 2; }
mkdir -p "$OUT"
cli() { node bin/tcbackmap.js "$@"; }
line=$(node -e "const r=require('$INPUTS/reference-energy.json'); console.log(r.max.total.value + 100)")
for input in ${ONLY:-test-cg cg-noisy cg-sim}; do
  cli backmap --model "$MODEL" --cg "$INPUTS/$input.dcd" --out "$OUT/$input.dcd" --samples "$S" --threads 1 --seed 1 --json > "$OUT/$input-backmap.json"
  for s in $(seq 0 $((S - 1))); do
    cli energy --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --traj "$OUT/$input.$s.dcd" --out "$OUT/$input.$s-energy.csv" --threads 1 --json > /dev/null
  done
  node -e '
    const [input, line, ...csvs] = process.argv.slice(1);
    const totals = csvs.flatMap((f) => require("./scripts/energy-csv").totals(f));
    const above = totals.filter((e) => e > Number(line)).length;
    console.log(JSON.stringify({ input, rollouts: csvs.length, frames: totals.length, line: Number(line), above, rate: above / totals.length, max: Math.round(Math.max(...totals)) }));
  ' "$input" "$line" $(for s in $(seq 0 $((S - 1))); do echo "$OUT/$input.$s-energy.csv"; done)
done
