#!/usr/bin/env node
// One robustness row (scripts/robustness.sh): the backmapped trajectory of one CG
// input against the fidelity issue's robustness goals, as one JSON line.
//   node scripts/robustness-row.js INPUT_NAME MODEL INPUT_CG.dcd OUT_PREFIX REFERENCE_ENERGY.json
'use strict';
const fs = require('fs');
const path = require('path');
const tcbm = require(path.join(__dirname, '..', 'dist', 'lib'));
const { totals } = require('./energy-csv');

const [name, model, cgFile, prefix, referenceEnergyFile] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));

/** Per-frame RMSD (nm) between the backmapped frames' bead positions and the input beads, in the lab frame. */
async function beadRmsd() {
  const { info } = await tcbm.readModelFile(model);
  const mapping = info.mapping;
  const cg = await tcbm.readTrajectory(cgFile, { atoms: mapping.beads });
  const aa = await tcbm.readTrajectory(`${prefix}.dcd`, { atoms: info.topology.atoms.length });
  const mapped = tcbm.applyMapping(mapping, aa.coords, aa.frames);
  const n = mapping.beads;
  const out = new Float64Array(aa.frames);
  for (let f = 0; f < aa.frames; f++) {
    let s = 0;
    for (let i = f * n * 3; i < (f + 1) * n * 3; i++) s += (mapped[i] - cg.coords[i]) ** 2;
    out[f] = Math.sqrt(s / n);
  }
  return out;
}

/** How many frames of an energy CSV (`tcbackmap energy --out`) have a total above `line` kJ/mol. */
function framesAbove(csv, line) {
  return totals(csv).filter((e) => e > line).length;
}

(async () => {
  const metrics = read(`${prefix}-report/metrics.json`);
  const energy = read(`${prefix}-energy.json`);
  const reference = read(referenceEnergyFile);
  const rmsd = await beadRmsd();
  const tenth = Math.max(1, Math.floor(rmsd.length / 10));
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  const first = mean(Array.from(rmsd.subarray(0, tenth)));
  const last = mean(Array.from(rmsd.subarray(rmsd.length - tenth)));
  const r = (x, d = 4) => (x === null || x === undefined ? null : Number(x.toPrecision(d)));
  const maxE = energy.max.total.value;
  const refMax = reference.max.total.value;
  const clash = metrics.summary.clashFrameFraction.backmapped;
  const flips = metrics.chirality.flips.backmapped;
  console.log(JSON.stringify({
    input: name,
    model: path.basename(model),
    frames: energy.frames,
    energy: { mean: r(energy.mean.total), std: r(energy.std.total), max: r(maxE), maxFrame: energy.max.total.frame, referenceMax: r(refMax), framesAboveMax: framesAbove(`${prefix}-energy.csv`, refMax + 100) },
    energyMaxMet: maxE <= refMax + 100,
    clashFrames: clash,
    wrongHanded: metrics.chirality.differing.backmapped,
    chiralityFlips: flips,
    beadRmsdNm: { first10: r(first), last10: r(last), mean: r(mean(Array.from(rmsd))), tenths: Array.from({ length: 10 }, (_, k) => r(mean(Array.from(rmsd.subarray(k * tenth, k === 9 ? rmsd.length : (k + 1) * tenth))))) },
    noDrift: last <= first,
    fesJs: r(metrics.summary.fesJensenShannon, 3),
    energyW1: r(metrics.summary.energyW1, 3),
    velocityJs: r(metrics.summary.velocityJsAfter, 3),
    // the CG noise level the decoder was told (models with a noise input; from backmap's summary)
    cgNoise: fs.existsSync(`${prefix}-backmap.json`) ? read(`${prefix}-backmap.json`).cgNoise ?? null : null,
    met: maxE <= refMax + 100 && clash === 0 && flips === 0 && last <= first,
  }));
})().catch((e) => {
  console.error(`robustness-row: ${e.message}`);
  process.exit(1);
});
