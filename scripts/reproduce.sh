#!/usr/bin/env bash
# Reproduce the paper's experiments on ../shared/data with the CPU presets:
# train the full model and the frame-based ablation for ADP and chignolin, backmap
# the CG mapping of each test set, and evaluate against the atomistic test runs.
#
#   bash scripts/reproduce.sh [adp|cln|all] [OUT_DIR]
#
# Each training run is budgeted by its preset's steps (adp-cpu 4500, cln-cpu 2500;
# about an hour each on one core here). Runs checkpoint every 250 steps; rerunning
# after an interruption resumes from the checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
out=${2:-runs}
shared=${SHARED_DATA:-../shared/data}
tcbm() { node bin/tcbackmap.js "$@"; }
mkdir -p "$out"

train() { # name preset map top system ablation-flag trajs...
  local name=$1 preset=$2 map=$3 top=$4 system=$5 flag=$6
  shift 6
  local trajs=()
  for t in "$@"; do trajs+=(--traj "$t"); done
  if [ -f "$out/$name.tcbm" ]; then echo "[reproduce] $name: model exists"; return; fi
  local resume=()
  [ -f "$out/$name.tcbm.ckpt" ] && resume=(--resume "$out/$name.tcbm.ckpt")
  echo "[reproduce] training $name ($preset${flag:+, $flag})"
  tcbm train --top "$top" "${trajs[@]}" --system "$system" --map "$map" --preset "$preset" --threads 1 \
    --seed 1 --checkpoint-every 250 --out "$out/$name.tcbm" ${flag:+$flag} "${resume[@]}"
}

backmap_and_evaluate() { # name top system ref-trajs...
  local name=$1 top=$2 system=$3
  shift 3
  local refs=() trajs=()
  for ref in "$@"; do
    local base
    base=$(basename "$ref" .dcd)
    tcbm coarse-grain --model "$out/$name.tcbm" --traj "$ref" --out "$out/$name-$base-cg.dcd"
    tcbm backmap --model "$out/$name.tcbm" --cg "$out/$name-$base-cg.dcd" --out "$out/$name-$base-backmapped.dcd" --seed 1
    refs+=(--ref "$ref")
    trajs+=(--traj "$out/$name-$base-backmapped.dcd")
  done
  tcbm evaluate --top "$top" --system "$system" "${refs[@]}" "${trajs[@]}" --out "$out/$name-report"
}

if [ "$which" = adp ] || [ "$which" = all ]; then
  d=$shared/adp
  for v in adp-cpu adp-cpu-framebased; do
    flag=""; [ "$v" = adp-cpu-framebased ] && flag=--frame-based
    train "$v" adp-cpu adp "$d/adp.pdb" "$d/system-vacuum.xml" "$flag" "$d/train.dcd"
    backmap_and_evaluate "$v" "$d/adp.pdb" "$d/system-vacuum.xml" "$d/test.dcd"
  done
fi
if [ "$which" = cln ] || [ "$which" = all ]; then
  d=$shared/chignolin
  for v in cln-cpu cln-cpu-framebased; do
    flag=""; [ "$v" = cln-cpu-framebased ] && flag=--frame-based
    train "$v" cln-cpu ca "$d/cln.pdb" "$d/system-vacuum.xml" "$flag" "$d"/train-0*.dcd
    backmap_and_evaluate "$v" "$d/cln.pdb" "$d/system-vacuum.xml" "$d/test.dcd" "$d/test-02.dcd"
  done
fi
