#!/usr/bin/env bash
# backmap --relax against the raw network output on the shared test sets, with
# the shipped models: chignolin test + test-02, alanine dipeptide test. Writes
# $OUT/{cln,adp}-{raw,relax}/metrics.json and prints one line per run.
#   [MOLECULES="cln adp"] scripts/relax-measure.sh [OUT] [--relax options…]
# Each molecule is refined with the settings measured best for it (README,
# "backmap --relax"): at its reference MD's temperature; chignolin with its
# Coulomb energy screened by ε = 4; ADP on its exact beads with 500 fs of
# dynamics and a weak per-atom restraint. CLN_RELAX / ADP_RELAX replace those
# settings; options after OUT go to both.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$HOME/tcbm-runs/relax}
shift || true
DATA=${DATA:-../shared/data}
mkdir -p "$OUT"
cli() { node bin/tcbackmap.js "$@"; }
run() { # molecule model top system refs…
  local mol=$1 model=$2 top=$3 system=$4; shift 4
  local refs=() raws=() relaxed=()
  for ref in "$@"; do
    local name; name=$(basename "$ref" .dcd)
    cli coarse-grain --model "$model" --traj "$ref" --out "$OUT/$mol-$name-cg.dcd" --json > /dev/null
    cli backmap --model "$model" --cg "$OUT/$mol-$name-cg.dcd" --out "$OUT/$mol-$name-raw.dcd" --threads 1 --json > "$OUT/$mol-$name-raw.json"
    cli backmap --model "$model" --cg "$OUT/$mol-$name-cg.dcd" --out "$OUT/$mol-$name-relax.dcd" --threads 1 --relax $SETTINGS "${RELAX[@]}" --json > "$OUT/$mol-$name-relax.json"
    refs+=(--ref "$ref"); raws+=(--traj "$OUT/$mol-$name-raw.dcd"); relaxed+=(--traj "$OUT/$mol-$name-relax.dcd")
  done
  for kind in raw relax; do
    local trajs=("${raws[@]}"); [ "$kind" = relax ] && trajs=("${relaxed[@]}")
    cli evaluate --top "$top" --system "$system" "${refs[@]}" "${trajs[@]}" --out "$OUT/$mol-$kind" --threads 1 --json > /dev/null
    node -e "
const m = require('$OUT/$mol-$kind/metrics.json'); const s = m.summary; const e = m.energy;
const fps = ['$OUT/$mol'].length && require('fs').readdirSync('$OUT').filter((f) => f.startsWith('$mol-') && f.endsWith('-$kind.json')).map((f) => require('$OUT/' + f)).map((j) => j.frames / j.seconds);
console.log(JSON.stringify({ molecule: '$mol', kind: '$kind', framesPerSecond: fps.map((x) => +x.toFixed(1)),
  energy: [+e.backmapped.total.mean.toPrecision(4), +e.backmapped.total.std.toPrecision(3)], reference: [+e.reference.total.mean.toPrecision(4), +e.reference.total.std.toPrecision(3)],
  energyW1: +s.energyW1.toPrecision(3), bondW1Nm: +s.bondMeanW1Nm.toPrecision(3), angleW1Deg: +s.angleMeanW1Deg.toPrecision(3),
  wrongHanded: m.chirality.differing.backmapped, clashFrames: s.clashFrameFraction.backmapped, fesJs: s.fesJensenShannon,
  slowestTimescalePs: s.slowestTimescalePs, velocityJs: s.velocityJsAfter, nonBeadVelocityJs: s.nonBeadVelocityJsAfter,
  chi1: (m.sidechains.items || []).filter((i) => i.kind === 'chi1').map((i) => [i.reference.transitions, i.backmapped.transitions]) }));"
  done
}
RELAX=("$@")
for mol in ${MOLECULES:-cln adp}; do
  case $mol in
    cln) SETTINGS=${CLN_RELAX---relax-temperature 340 --relax-dielectric 4} run cln models/cln-cpu.tcbm "$DATA/chignolin/cln.pdb" "$DATA/chignolin/system-vacuum.xml" "$DATA/chignolin/test.dcd" "$DATA/chignolin/test-02.dcd" ;;
    adp) SETTINGS=${ADP_RELAX---relax-temperature 300 --exact-cg --relax-thermal-steps 500 --restraint 50} run adp models/adp-cpu.tcbm "$DATA/adp/adp.pdb" "$DATA/adp/system-vacuum.xml" "$DATA/adp/test.dcd" ;;
    *) echo "relax-measure.sh: unknown molecule $mol (MOLECULES takes cln and adp)" >&2; exit 2 ;;
  esac
done
