#!/usr/bin/env bash
# The throughput issue's long run: 1,000,000 ADP CG frames backmapped in one
# `tcbackmap backmap` command, timed, with the process's peak RSS, as a user
# would run it. The CG input is the ADP test run's 5,000 CG frames repeated to
# 1,000,000 (the work per frame does not depend on where the frames came from).
#   scripts/backmap-million.sh MODEL.tcbm [OUT_DIR] [backmap options…]
# (default options: --segments 32 --threads 2 --precision bf16); prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: scripts/backmap-million.sh MODEL.tcbm [OUT_DIR] [backmap options…]}
OUT=${2:-$HOME/tcbm-runs/million}
shift 2 || shift $#
OPTIONS=("$@")
[ ${#OPTIONS[@]} -gt 0 ] || OPTIONS=(--segments 32 --threads 2 --precision bf16)
FRAMES=${FRAMES:-1000000}
DATA=${DATA:-../shared/data/adp}
mkdir -p "$OUT"
cli() { node bin/tcbackmap.js "$@"; }
[ -f "$OUT/test-cg.dcd" ] || cli coarse-grain --model "$MODEL" --traj "$DATA/test.dcd" --out "$OUT/test-cg.dcd" --json > /dev/null
if [ ! -f "$OUT/cg-$FRAMES.xtc" ]; then
  node -e "
const { readTrajectory, createTrajectory } = require('./dist/lib/io/trajectory');
(async () => {
  const cg = await readTrajectory('$OUT/test-cg.dcd');
  const w = await createTrajectory('$OUT/cg-$FRAMES.xtc', { atoms: cg.atoms });
  for (let done = 0; done < $FRAMES; ) {
    const n = Math.min(cg.frames, $FRAMES - done);
    await w.write({ frames: n, coords: cg.coords.subarray(0, n * cg.atoms * 3) });
    done += n;
  }
  await w.close();
})();"
fi
# GNU time's %M is the peak resident set size in KiB, %e the wall time in seconds.
/usr/bin/time -f '%e %M' -o "$OUT/time.txt" \
  node bin/tcbackmap.js backmap --model "$MODEL" --cg "$OUT/cg-$FRAMES.xtc" --out "$OUT/aa-$FRAMES.xtc" "${OPTIONS[@]}" --json > "$OUT/backmap.json"
read -r wall rss < "$OUT/time.txt"
node -e "
const r = require('$OUT/backmap.json');
console.log(JSON.stringify({ frames: r.frames, options: process.argv.slice(1).join(' '), wallSeconds: $wall, hours: +($wall / 3600).toFixed(3),
  framesPerSecond: +(r.frames / $wall).toFixed(1), peakRssMb: +($rss / 1024).toFixed(0), output: '$OUT/aa-$FRAMES.xtc' }));" -- "${OPTIONS[@]}" | tee "$OUT/result.json"
