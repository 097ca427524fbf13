#!/usr/bin/env bash
# Follows an ADP experiment's kept models (scripts/experiment.sh … --keep-every K)
# as the run writes them, and measures each one on held-out and robustness input:
#   - scripts/robustness.sh: the test CG, the noisy test CG and the CG simulation,
#     the network alone, seed 1 (frames above the reference's maximum + 100 kJ/mol,
#     clash frames, flips, drift);
#   - with --run (repeatable): scripts/select-model.js on those selection runs
#     (structural lines and energy score; never the test run).
# One JSON line per step in $RUNS/NAME/track.jsonl: {"step", "robustness": [rows],
# "select": row or null}. Steps already in that file are skipped, so it resumes
# after a stop; a model that is not written yet is waited for. A step is its kept
# model.step-N.tcbm or, for the run's final step (kept models stop before it),
# model.tcbm once training has reached it; so LAST may be any kept step too.
#   scripts/track-run.sh NAME FIRST LAST [--every 250] [--run SELECT.dcd]…
# Environment: RUNS (default ~/tcbm-runs), DATA (the ADP data folder), INPUTS
# (robustness inputs, as robustness.sh), TRACK_POLL (seconds between looks, 60).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 first=$2 last=$3
shift 3
every=250 runs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --every) every=$2; shift 2 ;;
    --run) runs+=(--run "$2"); shift 2 ;;
    *) echo "track-run.sh: unknown option $1 (expected --every, --run)" >&2; exit 2 ;;
  esac
done
RUNS=${RUNS:-$HOME/tcbm-runs}
DATA=${DATA:-../shared/data/adp}
export DATA
dir=$RUNS/$name
out=$dir/track.jsonl
[ -d "$dir" ] || { echo "track-run.sh: no run $dir" >&2; exit 2; }
touch "$out"
say() { printf '[track %s] %s\n' "$name" "$*" >&2; }

for ((step = first; step <= last; step += every)); do
  if grep -q "^{\"step\":$step," "$out"; then continue; fi
  # the final model.tcbm may be an older run's until training reaches this step
  model=""
  until [ -n "$model" ]; do
    if [ -f "$dir/model.step-$step.tcbm" ]; then model=$dir/model.step-$step.tcbm
    elif [ -f "$dir/model.tcbm" ] && [ "$(node scripts/model-steps.js "$dir/model.tcbm")" = "$step" ]; then model=$dir/model.tcbm
    else sleep "${TRACK_POLL:-60}"; fi
  done
  say "step $step: robustness"
  work=$dir/track/$step
  mkdir -p "$work"
  rows=$(scripts/robustness.sh "$model" "$work" | paste -sd, -)
  select=null
  if [ ${#runs[@]} -gt 0 ]; then
    say "step $step: selection run(s)"
    # the model's own line (the "chosen" line after it says the same of one model)
    select=$(node scripts/select-model.js --top "$DATA/adp.pdb" --system "$DATA/system-vacuum.xml" "${runs[@]}" \
      --work "$work/select" --threads 1 "$model")
    select=${select%%$'\n'*}
  fi
  echo "{\"step\":$step,\"robustness\":[$rows],\"select\":$select}" >> "$out"
done
say "done: $out"
