#!/usr/bin/env bash
# One fidelity experiment on alanine dipeptide, resumable at every stage:
#   1. train PRESET (a name or a JSON preset file) to STEPS, validating on a
#      held-out run (scripts/make-heldout.py), checkpointing every 250 steps;
#      with --from CKPT the run starts from another experiment's checkpoint
#      (e.g. an energy phase after a shared structural phase);
#   2. backmap the ADP test run with the network's own output (one segment,
#      seed 1, no --exact-cg) and evaluate it against the reference;
#   3. append one JSON line (the figures docs/fidelity.md tabulates) to
#      $RUNS/experiments.jsonl.
# Run state lives in $RUNS/NAME (default RUNS=~/tcbm-runs), never in the repo.
#
#   scripts/experiment.sh NAME PRESET STEPS [--from CKPT] [--threads N] [--frame-based]
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 preset=$2 steps=$3
shift 3
from="" threads=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --frame-based) extra+=(--frame-based); shift ;;
    *) echo "experiment.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
RUNS=${RUNS:-$HOME/tcbm-runs}
DATA=${DATA:-../shared/data/adp}
dir=$RUNS/$name
mkdir -p "$dir"
held=$RUNS/data/adp-val.dcd
[ -f "$held" ] || /usr/bin/python3 scripts/make-heldout.py "$held" --ns 1 --pdb "$DATA/adp.pdb"
cli() { node bin/tcbackmap.js "$@"; }
say() { printf '[experiment %s] %s\n' "$name" "$*" >&2; }

if [ ! -f "$dir/model.tcbm" ] || [ "$(node -e "const h=require('./dist/lib/model/modelfile');h.readContainer('$dir/model.tcbm').then(c=>console.log(c.header.training.steps))")" != "$steps" ]; then
  resume=()
  if [ -f "$dir/model.tcbm.ckpt" ]; then resume=(--resume "$dir/model.tcbm.ckpt" --preset "$preset")
  elif [ -n "$from" ]; then cp "$from" "$dir/model.tcbm.ckpt"; resume=(--resume "$dir/model.tcbm.ckpt" --preset "$preset")
  fi
  say "training $preset to step $steps ${resume[*]:-}"
  start=$(date +%s)
  cli train --top "$DATA/adp.pdb" --traj "$DATA/train.dcd" --system "$DATA/system-vacuum.xml" --map adp \
    --preset "$preset" "${resume[@]}" "${extra[@]}" --steps "$steps" --threads "$threads" --seed 1 \
    --validate "$held" --checkpoint-every 250 --out "$dir/model.tcbm" --json > "$dir/train.json"
  echo $(( $(date +%s) - start )) >> "$dir/train-seconds"
fi
say "backmapping the test run"
[ -f "$dir/test-cg.dcd" ] || cli coarse-grain --model "$dir/model.tcbm" --traj "$DATA/test.dcd" --out "$dir/test-cg.dcd" --json > /dev/null
cli backmap --model "$dir/model.tcbm" --cg "$dir/test-cg.dcd" --out "$dir/test-backmapped.dcd" --seed 1 --threads "$threads" --json > "$dir/backmap.json"
say "evaluating"
cli evaluate --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" --ref "$DATA/test.dcd" \
  --traj "$dir/test-backmapped.dcd" --out "$dir/report" --threads "$threads" --json > "$dir/evaluate.json"
node scripts/experiment-row.js "$name" "$preset" "$dir" | tee -a "$RUNS/experiments.jsonl"
