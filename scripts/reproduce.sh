#!/usr/bin/env bash
# Reproduce the paper's experiments on ../shared/data with the CPU presets:
# train the full model and the frame-based ablation for ADP and chignolin, backmap
# the CG mapping of each test set, and evaluate against the atomistic test runs
# (the network's output, backmap's default, and the CG-exact one).
#
#   bash scripts/reproduce.sh [adp|cln|all] [OUT_DIR]
#
# Budgets (one core each; README "Results", docs/fidelity.md): every model
# trains its preset's whole schedule, the ablation with --frame-based: ADP
# adp-cpu 13,750 steps (3,000 structural, then the energy phase, the local term on
# batch moments from 6,000, Adam afresh at 8,000 and at 10,000 with the lag, the
# floor, the prior decode (worst of eight draws), the CG term x10 and the energy
# per force-field term, and at 11,750 with the binary latent; ~3 h in fp32 on an
# AVX2-only EPYC for the first 12,000; with AVX512-BF16 each 2,000-step phase at
# the end took 24-35 min in bf16 on shared cores: runs Y55-Y59, Y68, Y81), then
# chooses among the last phase's models by a selection run (choose, below: ~4 min
# of OpenMM and ~1.5 min a candidate), and trains the chosen model 2,000 steps
# more with the alpha-L runs (~3 min of OpenMM; 32 min in bf16 on a shared core,
# run Y83) and chooses again; chignolin cln-cpu's steps, 3,000 averaged, and 7,000
# with 32 OBC2 runs added (~52 min of OpenMM on one core; 69 min in bf16, run Z26),
# 7,000 with 32 more and the energy per force-field term (~52 min of OpenMM; 71
# min, run Z29), 2,500 with the floor x6 (25 min, run Z31) and twice 3,000 on its own
# rollouts (selfFeed, 2 then 4 frames; 42 and ~65 min, runs Z33, Z35), then twice 2,000
# with the local term on batch moments (the floor x6, then x10; ~36 min each, runs Z38, Z39). Training runs in bf16
# (--precision bf16) where the CPU has AVX512-BF16, else fp32 (PRECISION=…
# overrides). Runs checkpoint every 250 steps; rerunning after an interruption
# resumes from them.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
out=${2:-runs}
shared=${SHARED_DATA:-../shared/data}
tcbm() { node bin/tcbackmap.js "$@"; }
mkdir -p "$out"
if [ -z "${PRECISION:-}" ]; then
  PRECISION=fp32
  grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null && PRECISION=bf16
fi

train() { # name preset steps map top system ablation-flag trajs...
  local name=$1 preset=$2 steps=$3 map=$4 top=$5 system=$6 flag=$7
  shift 7
  local trajs=()
  for t in "$@"; do trajs+=(--traj "$t"); done
  if [ -f "$out/$name.tcbm" ]; then echo "[reproduce] $name: model exists"; return; fi
  local resume=()
  if [ -f "$out/$name.tcbm.ckpt" ]; then resume=(--resume "$out/$name.tcbm.ckpt")
  elif [ -n "${INIT:-}" ]; then resume=(--init "$INIT")  # a later phase from a chosen model's weights
  fi
  echo "[reproduce] training $name ($preset, $steps steps${flag:+, $flag})"
  tcbm train --top "$top" "${trajs[@]}" --system "$system" --map "$map" --preset "$preset" --steps "$steps" --threads 1 \
    --precision "$PRECISION" --seed 1 --checkpoint-every 250 --out "$out/$name.tcbm" ${flag:+$flag} "${resume[@]}" \
    ${VALIDATE:+--validate "$VALIDATE"} ${KEEP_FROM:+--keep-every "${KEEP_EVERY:-250}" --keep-from "$KEEP_FROM"}
}

# ADP: the last phase's energy W1 spreads between runs and between models 250
# steps apart (2.9-12.4 kJ/mol; docs/fidelity.md, ninth session), so the run keeps
# a model every 250 steps of it, and the one with the lowest energy score (the W1
# of the total and of each force-field term) on a 10 ns selection run (its own MD
# seed: neither training nor test), among those meeting the structural lines,
# becomes NAME.tcbm. The test run never chooses.
choose() { # name top system
  local name=$1 top=$2 system=$3
  if [ -f "$out/$name.tcbm" ]; then return; fi
  [ -f "$out/adp-select.dcd" ] ||
    /usr/bin/python3 scripts/make-heldout.py "$out/adp-select.dcd" --ns 10 --seed 211 --pdb "$top"
  echo "[reproduce] choosing $name among its last phase's models by the selection run"
  node scripts/select-model.js --top "$top" --system "$system" --run "$out/adp-select.dcd" --work "$out/$name-select" \
    "$out/$name-run".step-*.tcbm "$out/$name-run.tcbm" > "$out/$name-select.jsonl"
  cp "$(node -e "const l=require('fs').readFileSync(process.argv[1],'utf8').trim().split('\n');console.log(JSON.parse(l[l.length-1]).chosen)" "$out/$name-select.jsonl")" "$out/$name.tcbm"
}

# Each model is evaluated twice: as `backmap` writes by default (the network's
# output) into NAME-report, and CG-exact (--exact-cg) into NAME-exact-report.
backmap_and_evaluate() { # name top system ref-trajs...
  local name=$1 top=$2 system=$3
  shift 3
  local mode suffix flag
  for mode in raw exact; do
    suffix=""; flag=""
    [ "$mode" = exact ] && suffix=-exact && flag=--exact-cg
    local refs=() trajs=()
    for ref in "$@"; do
      local base
      base=$(basename "$ref" .dcd)
      tcbm coarse-grain --model "$out/$name.tcbm" --traj "$ref" --out "$out/$name-$base-cg.dcd"
      tcbm backmap --model "$out/$name.tcbm" --cg "$out/$name-$base-cg.dcd" --out "$out/$name$suffix-$base-backmapped.dcd" \
        --seed 1 ${flag:+$flag}
      refs+=(--ref "$ref")
      trajs+=(--traj "$out/$name$suffix-$base-backmapped.dcd")
    done
    tcbm evaluate --top "$top" --system "$system" "${refs[@]}" "${trajs[@]}" --out "$out/$name$suffix-report"
  done
}

if [ "$which" = adp ] || [ "$which" = all ]; then
  d=$shared/adp
  steps=$(node -e "console.log(require('./dist/lib/model/presets').PRESETS['adp-cpu'].training.steps)")
  # the last phase: from the binary latent's switch (or, before it, the prior decode's start)
  last=$(node -e "const t=require('./dist/lib/model/presets').PRESETS['adp-cpu'].training;console.log(t.binaryFrom ?? t.priorDecode.from)")
  # After the first choice, the alpha-L basin (phi > 0), which train.dcd visits
  # in 2 frames of 20,000 and CG simulations and noisy CG input reach: 16 runs
  # of 100 ps at 300 K started there (~3 min of OpenMM), trained on with
  # train.dcd from the chosen model's weights with Adam afresh for 2,000 steps,
  # the last 1,500 of them averaged (the model written is the mean of their
  # weights: run Y88), then 500 steps more from that mean, Adam afresh, without
  # averaging, a model kept every 125, chosen again by the selection run
  # (docs/fidelity.md, runs Y88-Y89). The mean alone runs cold (energy W1 ~8
  # kJ/mol); the 500 steps give the frames their spread back and keep most of
  # what the mean did to the rough-input tail.
  [ -f "$out/alphal/alphal-16.dcd" ] ||
    /usr/bin/python3 scripts/make-adp-alphal.py "$out/alphal" --seed 501 --pdb "$d/adp.pdb"
  for v in adp-cpu adp-cpu-framebased; do
    flag=""; [ "$v" = adp-cpu-framebased ] && flag=--frame-based
    KEEP_FROM=$((last + 250)) train "$v-base-run" adp-cpu "$steps" adp "$d/adp.pdb" "$d/system-vacuum.xml" "$flag" "$d/train.dcd"
    choose "$v-base" "$d/adp.pdb" "$d/system-vacuum.xml"
    base=$(node scripts/model-steps.js "$out/$v-base.tcbm")
    printf '{"base": "adp-cpu", "training": {"average": {"from": %d}}}\n' $((base + 500)) > "$out/$v-average.json"
    INIT="$out/$v-base.tcbm" train "$v-average" "$out/$v-average.json" $((base + 2000)) adp "$d/adp.pdb" "$d/system-vacuum.xml" "$flag" \
      "$d/train.dcd" "$out"/alphal/alphal-*.dcd
    INIT="$out/$v-average.tcbm" KEEP_EVERY=125 KEEP_FROM=$((base + 2125)) train "$v-run" adp-cpu $((base + 2500)) adp "$d/adp.pdb" "$d/system-vacuum.xml" "$flag" \
      "$d/train.dcd" "$out"/alphal/alphal-*.dcd
    choose "$v" "$d/adp.pdb" "$d/system-vacuum.xml"
  done
  for v in adp-cpu adp-cpu-framebased; do
    backmap_and_evaluate "$v" "$d/adp.pdb" "$d/system-vacuum.xml" "$d/test.dcd"
  done
  node scripts/results-table.js "full=$out/adp-cpu-report/metrics.json" "frame-based=$out/adp-cpu-framebased-report/metrics.json" \
    "full, CG-exact=$out/adp-cpu-exact-report/metrics.json" "frame-based, CG-exact=$out/adp-cpu-framebased-exact-report/metrics.json"
fi
if [ "$which" = cln ] || [ "$which" = all ]; then
  d=$shared/chignolin
  # train-08 is cut into its first 2,500 frames (trained on, with train-01 … 07)
  # and the rest (validated on): docs/fidelity.md, "more data".
  [ -f "$out/cln-train-08b.dcd" ] ||
    /usr/bin/python3 scripts/split-run.py "$d/cln.pdb" "$d/train-08.dcd" 2500 "$out/cln-train-08a.dcd" "$out/cln-train-08b.dcd"
  steps=$(node -e "console.log(require('./dist/lib/model/presets').PRESETS['cln-cpu'].training.steps)")
  # 32 runs of 550 ps between the states in OBC2 (ff14SB as the shared data, a
  # cheaper implicit solvent; ~13 minutes of OpenMM per 8 runs on one core), from
  # snapshots of four 600 K heatings (docs/fidelity.md, run Z26), and 32 more
  # from four more heatings (runs Z29, Z31)
  for plan in "601 5,12,20,30,45,60,80,110" "701 8,15,25,35,50,70,95,130" \
    "801 10,18,28,40,55,75,100,140" "901 6,14,22,32,42,65,90,120" \
    "1001 7,16,26,38,52,68,88,115" "1101 9,13,24,33,47,62,85,125" \
    "1201 4,11,19,29,43,58,78,105" "1301 6,17,27,36,49,72,98,135"; do
    read -r heat snapshots <<< "$plan"
    [ -f "$out/cln-obc2/runs-$heat-obc2.json" ] || /usr/bin/python3 scripts/make-cln-runs.py "$out/cln-obc2" --pdb "$d/cln.pdb" \
      --solvent obc2 --seed "$heat" --snapshots "$snapshots" --ps 550
  done
  shared_runs=("$d"/train-0[1-7].dcd "$out/cln-train-08a.dcd")
  # one phase from an earlier phase's model (Adam afresh), the model written being
  # the mean of the weights from step FROM on; SETTINGS: more training settings as JSON
  cln_phase() { # name init-name to-step average-from settings trajs...
    local name=$1 init=$2 to=$3 from=$4 settings=$5
    shift 5
    printf '{"base": "cln-cpu", "training": {"average": {"from": %d}%s}}\n' "$from" "$settings" > "$out/$name.json"
    INIT="$out/$init.tcbm" VALIDATE="$out/cln-train-08b.dcd" train "$name" "$out/$name.json" "$to" ca "$d/cln.pdb" \
      "$d/system-vacuum.xml" "$flag" "$@"
  }
  for v in cln-cpu cln-cpu-framebased; do
    flag=""; [ "$v" = cln-cpu-framebased ] && flag=--frame-based
    VALIDATE="$out/cln-train-08b.dcd" train "$v-base" cln-cpu "$steps" ca "$d/cln.pdb" "$d/system-vacuum.xml" "$flag" "${shared_runs[@]}"
    # then 3,000 steps more from its weights, all averaged (docs/fidelity.md, run Z24)
    cln_phase "$v-average" "$v-base" $((steps + 3000)) "$steps" "" "${shared_runs[@]}"
    # then 7,000 steps more with the first 32 OBC2 runs and the steric floor x3,
    # the last 3,000 averaged (run Z26)
    cln_phase "$v-obc2" "$v-average" $((steps + 10000)) $((steps + 7000)) ', "floorWeight": 3' \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-{601,701,801,901}-*-obc2.dcd
    # then 7,000 steps more with all 64 OBC2 runs and each force-field term its
    # own robust energy error (scale 30 kJ/mol), the last 3,000 averaged (run
    # Z29), and 2,500 more from that mean with the floor x6, the last 2,000
    # averaged (run Z31)
    terms='"energyTerms": true, "energyTermsScale": 30'
    cln_phase "$v-terms" "$v-obc2" $((steps + 17000)) $((steps + 14000)) ", \"floorWeight\": 3, $terms" \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-*-obc2.dcd
    cln_phase "$v-floor" "$v-terms" $((steps + 19500)) $((steps + 17500)) ", \"floorWeight\": 6, $terms" \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-*-obc2.dcd
    # then 3,000 steps more with half of each batch conditioned on the model's
    # own two-frame rollout (selfFeed; the ablation, which never sees A(t-1),
    # trains the same steps without it), and 3,000 more on its four-frame
    # rollouts, the last 2,000 of each averaged (runs Z33, Z35)
    feed() { printf ', "floorWeight": 6, %s, "selfFeed": {"share": 0.5, "steps": %d}' "$terms" "$1"; }
    cln_phase "$v-selffeed" "$v-floor" $((steps + 22500)) $((steps + 20500)) "$(feed 2)" \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-*-obc2.dcd
    cln_phase "$v-selffeed4" "$v-selffeed" $((steps + 25500)) $((steps + 23500)) "$(feed 4)" \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-*-obc2.dcd
    # then the local term on batch moments (weight 50) for 2,000 steps, and
    # 2,000 more with the floor x10, the last 1,000 of each averaged (runs Z38, Z39)
    moments() { printf ', "floorWeight": %d, %s, "selfFeed": {"share": 0.5, "steps": 4}, "localMode": "moments", "localWeight": 50' "$1" "$terms"; }
    cln_phase "$v-moments" "$v-selffeed4" $((steps + 27500)) $((steps + 26500)) "$(moments 6)" \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-*-obc2.dcd
    cln_phase "$v" "$v-moments" $((steps + 29500)) $((steps + 28500)) "$(moments 10)" \
      "${shared_runs[@]}" "$out"/cln-obc2/heat-*-obc2.dcd
    backmap_and_evaluate "$v" "$d/cln.pdb" "$d/system-vacuum.xml" "$d/test.dcd" "$d/test-02.dcd"
  done
  node scripts/results-table.js "full=$out/cln-cpu-report/metrics.json" "frame-based=$out/cln-cpu-framebased-report/metrics.json" \
    "full, CG-exact=$out/cln-cpu-exact-report/metrics.json" "frame-based, CG-exact=$out/cln-cpu-framebased-exact-report/metrics.json" --chi1
fi
