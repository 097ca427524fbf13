#!/usr/bin/env node
// The README's Results tables from `tcbackmap evaluate` outputs:
//
//   node scripts/results-table.js NAME=runs/x-report/metrics.json [NAME=...] [--chi1]
//
// One column per run; rows are the paper's metrics. With --chi1 it also prints the
// per-residue χ1 rotamer transition counts (reference vs each run) and the
// issue's criterion: within a factor of 2, or within ±3 where the reference has
// fewer than 6 transitions.
'use strict';
const fs = require('fs');

const args = process.argv.slice(2);
const chi1 = args.includes('--chi1');
const runs = args
  .filter((a) => !a.startsWith('--'))
  .map((a) => {
    const eq = a.indexOf('=');
    if (eq < 0) throw new Error(`expected NAME=metrics.json, got ${a}`);
    return { name: a.slice(0, eq), m: JSON.parse(fs.readFileSync(a.slice(eq + 1), 'utf8')) };
  });
if (runs.length === 0) {
  console.error('usage: node scripts/results-table.js NAME=metrics.json [...] [--chi1]');
  process.exit(2);
}

const f = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) >= 1e4 ? x.toExponential(1) : x.toFixed(d));
const pct = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(2)} %`);

// slowest three implied timescales at the MSM lag, with the bootstrap 95 % interval
function timescales(side, k) {
  const i = k.lags.indexOf(k.msmLag);
  const t = side.timescales[i] || [];
  const lo = side.bootstrap ? side.bootstrap.lower[i] : [];
  const hi = side.bootstrap ? side.bootstrap.upper[i] : [];
  return [0, 1, 2].map((j) => (t[j] === undefined ? '–' : `${f(t[j], 1)} [${f(lo[j], 1)}, ${f(hi[j], 1)}]`));
}

const ref = runs[0].m;
const rows = [];
const e = (m) => m.energy.backmapped.total;
rows.push(['internal energy mean ± std (kJ/mol)', `${f(ref.energy.reference.total.mean, 1)} ± ${f(ref.energy.reference.total.std, 1)}`, ...runs.map((r) => `${f(e(r.m).mean, 1)} ± ${f(e(r.m).std, 1)}`)]);
rows.push(['energy W1 vs reference (kJ/mol)', '0', ...runs.map((r) => f(r.m.summary.energyW1, 1))]);
rows.push(['mean bond-length W1 (nm)', '0', ...runs.map((r) => f(r.m.summary.bondMeanW1Nm, 4))]);
rows.push(['mean bond-angle W1 (°)', '0', ...runs.map((r) => f(r.m.summary.angleMeanW1Deg, 2))]);
rows.push(['chirality: frames×centres differing from the reference', pct(ref.chirality.differing.reference), ...runs.map((r) => pct(r.m.chirality.differing.backmapped))]);
rows.push(['clash frames (heavy atoms < 0.8 × vdW)', pct(ref.clashes.reference.frameFraction), ...runs.map((r) => pct(r.m.clashes.backmapped.frameFraction))]);
rows.push([`FES Jensen–Shannon (${ref.thermodynamics.method || 'FES'})`, '0', ...runs.map((r) => f(r.m.summary.fesJensenShannon, 3))]);
const k0 = ref.kinetics;
const refTs = timescales(k0.reference, k0);
for (let j = 0; j < 3; j++) {
  rows.push([`implied timescale ${j + 1} at lag ${k0.msmLag} ps (ps) [95 % bootstrap]`, refTs[j], ...runs.map((r) => timescales(r.m.kinetics.backmapped, r.m.kinetics)[j])]);
}
rows.push(['speed rescale factor (all atoms; ideal 1)', '1', ...runs.map((r) => f(r.m.summary.velocityScale, 2))]);
rows.push(['velocity-distribution JS after rescaling (all atoms)', '0', ...runs.map((r) => f(r.m.summary.velocityJsAfter, 3))]);
rows.push(['speed rescale factor (non-bead atoms)', '1', ...runs.map((r) => f(r.m.summary.nonBeadVelocityScale, 2))]);
rows.push(['velocity-distribution JS after rescaling (non-bead atoms)', '0', ...runs.map((r) => f(r.m.summary.nonBeadVelocityJsAfter, 3))]);

const line = (cells) => `| ${cells.join(' | ')} |`;
console.log(line(['', 'reference', ...runs.map((r) => r.name)]));
console.log(line(['---', ...Array(runs.length + 1).fill('---')]));
for (const r of rows) console.log(line(r));

if (chi1) {
  console.log();
  const items = (m) => m.sidechains.items.filter((i) => i.kind === 'chi1');
  const base = items(ref);
  console.log(line(['χ1 transitions', 'reference', ...runs.map((r) => r.name)]));
  console.log(line(['---', ...Array(runs.length + 1).fill('---')]));
  const ok = (want, got) => (want < 6 ? Math.abs(got - want) <= 3 : got >= want / 2 && got <= want * 2);
  const passes = runs.map(() => 0);
  const logErr = runs.map(() => 0);
  base.forEach((it, n) => {
    const want = it.reference.transitions;
    const cells = runs.map((r, j) => {
      const got = items(r.m)[n].backmapped.transitions;
      if (ok(want, got)) passes[j]++;
      logErr[j] += Math.abs(Math.log((got + 1) / (want + 1)));
      return `${got}${ok(want, got) ? '' : ' ✗'}`;
    });
    console.log(line([it.residue, String(want), ...cells]));
  });
  console.log(line(['within the criterion', `${base.length} residues`, ...passes.map((p) => `${p} / ${base.length}`)]));
  console.log(line(['mean \\|log((n+1)/(n_ref+1))\\|', '0', ...logErr.map((x) => f(x / base.length, 2))]));
}
