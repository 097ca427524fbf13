#!/usr/bin/env bash
# One fidelity experiment, on alanine dipeptide (default) or chignolin (MOL=cln),
# resumable at every stage:
#   1. train PRESET (a name or a JSON preset file) to STEPS, validating on a
#      held-out run (scripts/make-heldout.py), checkpointing every 250 steps;
#      with --from CKPT the run starts from another experiment's checkpoint
#      (e.g. an energy phase after a shared structural phase); with --init MODEL
#      it starts from a finished model's weights (a shipped one) at its step;
#      (chignolin: trained on train-01 … train-07, validated on train-08);
#   2. backmap the test run(s) with the network's own output (one segment,
#      seed 1, no --exact-cg) and evaluate it against the reference;
#   3. append one JSON line (the figures docs/fidelity.md tabulates) to
#      $RUNS/experiments.jsonl.
# Run state lives in $RUNS/NAME (default RUNS=~/tcbm-runs), never in the repo.
#
#   scripts/experiment.sh NAME PRESET STEPS [--from CKPT | --init MODEL] [--threads N] [--seed N] [--keep-every K] [--frame-based]
# --seed is the training seed (default 1); the test backmap always uses seed 1.
# Environment: DATA (the molecule's data folder), MOL, RUNS, and for chignolin
# HELD (the validation run; default train-08); EXTRA_TRAJS (more training runs, either molecule).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 preset=$2 steps=$3
shift 3
from="" init="" threads=1 seed=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --keep-every) extra+=(--keep-every "$2"); shift 2 ;;
    --frame-based) extra+=(--frame-based); shift ;;
    *) echo "experiment.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
RUNS=${RUNS:-$HOME/tcbm-runs}
MOL=${MOL:-adp}
dir=$RUNS/$name
mkdir -p "$dir"
if [ "$MOL" = cln ]; then
  DATA=${DATA:-../shared/data/chignolin}
  top=$DATA/cln.pdb map=ca held=${HELD:-$DATA/train-08.dcd} tests=("$DATA/test.dcd" "$DATA/test-02.dcd")
  trajs=(); for i in 01 02 03 04 05 06 07; do trajs+=(--traj "$DATA/train-$i.dcd"); done
  # EXTRA_TRAJS: more training runs (space-separated paths), e.g. part of train-08
  # with HELD set to the rest of it (scripts/split-run.py).
  for t in ${EXTRA_TRAJS:-}; do trajs+=(--traj "$t"); done
else
  DATA=${DATA:-../shared/data/adp}
  top=$DATA/adp.pdb map=adp held=$RUNS/data/adp-val.dcd tests=("$DATA/test.dcd") trajs=(--traj "$DATA/train.dcd")
  # EXTRA_TRAJS: more training runs (space-separated paths), e.g. the alpha-L
  # runs of scripts/make-adp-alphal.py.
  for t in ${EXTRA_TRAJS:-}; do trajs+=(--traj "$t"); done
  [ -f "$held" ] || /usr/bin/python3 scripts/make-heldout.py "$held" --ns 1 --pdb "$DATA/adp.pdb"
fi
cli() { node bin/tcbackmap.js "$@"; }
say() { printf '[experiment %s] %s\n' "$name" "$*" >&2; }

if [ ! -f "$dir/model.tcbm" ] || [ "$(node scripts/model-steps.js "$dir/model.tcbm")" != "$steps" ]; then
  resume=()
  if [ -f "$dir/model.tcbm.ckpt" ]; then resume=(--resume "$dir/model.tcbm.ckpt" --preset "$preset")
  elif [ -n "$from" ]; then cp "$from" "$dir/model.tcbm.ckpt"; resume=(--resume "$dir/model.tcbm.ckpt" --preset "$preset")
  elif [ -n "$init" ]; then resume=(--init "$init" --preset "$preset")
  fi
  say "training $preset to step $steps ${resume[*]:-}"
  start=$(date +%s)
  cli train --top "$top" "${trajs[@]}" --system "$DATA/system-vacuum.xml" --map "$map" \
    --preset "$preset" "${resume[@]}" "${extra[@]}" --steps "$steps" --threads "$threads" --seed "$seed" \
    --validate "$held" --checkpoint-every 250 --out "$dir/model.tcbm" --json > "$dir/train.json"
  echo $(( $(date +%s) - start )) >> "$dir/train-seconds"
fi
say "backmapping the test run(s)"
refs=() outs=()
for t in "${tests[@]}"; do
  base=$(basename "$t" .dcd)
  [ -f "$dir/$base-cg.dcd" ] || cli coarse-grain --model "$dir/model.tcbm" --traj "$t" --out "$dir/$base-cg.dcd" --json > /dev/null
  cli backmap --model "$dir/model.tcbm" --cg "$dir/$base-cg.dcd" --out "$dir/$base-backmapped.dcd" --seed 1 --threads "$threads" --json > "$dir/backmap-$base.json"
  refs+=(--ref "$t") outs+=(--traj "$dir/$base-backmapped.dcd")
done
say "evaluating"
cli evaluate --top "$top" --system "$DATA/system-vacuum.xml" "${refs[@]}" "${outs[@]}" --out "$dir/report" --threads "$threads" --json > "$dir/evaluate.json"
node scripts/experiment-row.js "$name" "$preset" "$dir" | tee -a "$RUNS/experiments.jsonl"
