#!/usr/bin/env node
// One experiment's figures as one JSON line (scripts/experiment.sh writes them to
// experiments.jsonl; docs/fidelity.md tabulates them): training budget, the last
// validation, and the test-run evaluation against the goals.
//   node scripts/experiment-row.js NAME PRESET DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [name, preset, dir] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const metrics = read('report/metrics.json');
const s = metrics.summary;
const log = fs.readFileSync(path.join(dir, 'model.tcbm.log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const steps = log.filter((r) => r.step !== undefined && r.ms !== undefined);
const validation = log.filter((r) => r.validation).map((r) => r.validation);
const last = validation[validation.length - 1];
const seconds = fs.existsSync(path.join(dir, 'train-seconds'))
  ? fs.readFileSync(path.join(dir, 'train-seconds'), 'utf8').trim().split('\n').reduce((a, b) => a + Number(b), 0)
  : null;
const e = metrics.energy;
const round = (x, d = 4) => (x === null || x === undefined ? null : Number(x.toPrecision(d)));
console.log(JSON.stringify({
  name,
  preset,
  steps: steps.length ? steps[steps.length - 1].step + 1 : null,
  trainSeconds: seconds,
  msPerStep: steps.length ? round(steps.slice(-200).reduce((a, r) => a + r.ms, 0) / Math.min(200, steps.length), 3) : null,
  validation: last && {
    step: last.step, beadRmsdNm: round(last.beadRmsd), otherRmsdNm: round(last.otherRmsd),
    energy: last.energy && [round(last.energy.decoded), round(last.energy.reference)],
    activeDimensions: `${last.activeDimensions}/${last.klPerDimension.length}`, rolloutJs: round(last.rollout?.phiPsiJs ?? null, 3),
  },
  test: {
    fesJs: round(s.fesJensenShannon, 3),
    energyMean: [round(e.backmapped.total.mean), round(e.reference.total.mean)],
    energyStd: [round(e.backmapped.total.std), round(e.reference.total.std)],
    energyW1: round(s.energyW1),
    // each force-field term's mean offset from the reference's (kJ/mol)
    termOffsets: Object.fromEntries(Object.keys(e.backmapped).filter((k) => k !== 'total').map((k) => [k, round(e.backmapped[k].mean - e.reference[k].mean, 3)])),
    bondW1Nm: round(s.bondMeanW1Nm),
    angleW1Deg: round(s.angleMeanW1Deg),
    chiralityFlips: metrics.chirality.flips.backmapped,
    clashFrames: s.clashFrameFraction.backmapped,
    velocityJs: round(s.velocityJsAfter, 3),
    velocityScale: round(s.velocityScale, 3),
    slowestTimescaleRatio: s.slowestTimescalePs.reference ? round(s.slowestTimescalePs.backmapped / s.slowestTimescalePs.reference, 3) : null,
  },
}));
