#!/usr/bin/env node
// Chooses among finished models (a run's --keep-every models, or runs of one
// recipe under different seeds) by a held-out figure, never by the test set:
// each model backmaps a selection run (its own atomistic MD, neither training,
// validation nor test; e.g. make-heldout.py OUT --ns 10 --seed 211) with the
// network alone (seed 1, one segment), is evaluated against it, and among those
// meeting every structural line the model with the lowest energy score wins: the
// W1 of the total energy plus the W1 of each force-field term. The terms count
// because a total can match by cancelling errors (hot bonds against cold angles:
// docs/fidelity.md, ninth session), and choosing on the total alone picks them.
//
//   node scripts/select-model.js --top aa.pdb --system system.xml --run selection.dcd \
//        [--work dir] [--threads 1] MODEL.tcbm …
//
// --run may be given more than once (e.g. a 300 K run and a run in a basin the
// first one does not visit): a candidate must then meet the lines on every run,
// and its energy score is the sum of its scores on them.
//
// Prints one JSON line per model (its held-out figures and whether it meets the
// lines; with several runs, per run under "runs"), then one {"chosen": …} line.
// Reports stay in --work (default: a temp dir).
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

// The structural lines a candidate must meet on the selection run (issue #14's ADP lines).
const LINES = { fesJs: 0.05, bondW1Nm: 0.003, angleW1Deg: 2, chiralityFlips: 0, clashFrames: 0 };

function parse(argv) {
  const o = { threads: '1', models: [], runs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--run') {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      o.runs.push(argv[++i]);
    } else if (['--top', '--system', '--work', '--threads'].includes(a)) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      o[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else o.models.push(a);
  }
  for (const k of ['top', 'system']) if (!o[k]) throw new Error(`--${k} is required`);
  if (o.runs.length === 0) throw new Error('--run is required');
  if (o.models.length === 0) throw new Error('give at least one model');
  for (const f of [o.top, o.system, ...o.runs, ...o.models]) if (!fs.existsSync(f)) throw new Error(`${f}: no such file`);
  return o;
}

function main() {
  let o;
  try {
    o = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`select-model: ${e.message}`);
    process.exit(2);
  }
  const cli = (...args) => execFileSync(process.execPath, [path.join(__dirname, '../bin/tcbackmap.js'), ...args, '--json'], { encoding: 'utf8' });
  const work = o.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-select-'));
  fs.mkdirSync(work, { recursive: true });
  // Every candidate shares the mapping, so one CG view of each run serves all
  // (the first run's keeps the name earlier versions gave it).
  const cgOf = o.runs.map((run, r) => {
    const cg = path.join(work, r === 0 ? 'selection-cg.dcd' : `selection-cg.${r}.dcd`);
    if (!fs.existsSync(cg)) cli('coarse-grain', '--model', o.models[0], '--traj', run, '--out', cg);
    return cg;
  });
  const figuresOn = (model, i, r) => {
    const dir = path.join(work, `${i}-${path.basename(model, '.tcbm')}${r === 0 ? '' : `.${r}`}`);
    fs.mkdirSync(dir, { recursive: true });
    const out = path.join(dir, 'backmapped.dcd');
    cli('backmap', '--model', model, '--cg', cgOf[r], '--out', out, '--seed', '1', '--threads', o.threads);
    cli('evaluate', '--top', o.top, '--system', o.system, '--ref', o.runs[r], '--traj', out, '--out', path.join(dir, 'report'), '--threads', o.threads);
    fs.rmSync(out);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'report', 'metrics.json'), 'utf8'));
    const s = m.summary;
    const figures = {
      fesJs: s.fesJensenShannon, energyW1: s.energyW1, energyMean: m.energy.backmapped.total.mean, referenceMean: m.energy.reference.total.mean,
      bondW1Nm: s.bondMeanW1Nm, angleW1Deg: s.angleMeanW1Deg, chiralityFlips: m.chirality.flips.backmapped, clashFrames: s.clashFrameFraction.backmapped,
    };
    // each force-field term's mean against the run's: the total can meet its line by cancelling errors (docs/fidelity.md)
    const terms = Object.keys(m.energy.w1).filter((k) => k !== 'total');
    figures.termOffsets = Object.fromEntries(terms.map((k) => [k, m.energy.backmapped[k].mean - m.energy.reference[k].mean]));
    figures.termW1 = Object.fromEntries(terms.map((k) => [k, m.energy.w1[k]]));
    figures.energyScore = terms.reduce((sum, k) => sum + m.energy.w1[k], m.energy.w1.total);
    figures.missed = Object.entries(LINES).filter(([k, line]) => figures[k] !== null && figures[k] !== undefined && figures[k] > line).map(([k]) => k);
    return figures;
  };
  const rows = o.models.map((model, i) => {
    const perRun = o.runs.map((_, r) => figuresOn(model, i, r));
    const row = perRun.length === 1
      ? { model, ...perRun[0], meetsLines: perRun[0].missed.length === 0 }
      : {
        model,
        runs: perRun.map((f, r) => ({ run: o.runs[r], ...f })),
        energyScore: perRun.reduce((sum, f) => sum + f.energyScore, 0),
        energyW1: perRun[0].energyW1,
        meetsLines: perRun.every((f) => f.missed.length === 0),
        missed: perRun.flatMap((f, r) => f.missed.map((k) => `${r}:${k}`)),
      };
    console.log(JSON.stringify(row));
    return row;
  });
  const eligible = rows.filter((r) => r.meetsLines);
  const pool = eligible.length > 0 ? eligible : rows;
  const best = pool.reduce((a, b) => (b.energyScore < a.energyScore ? b : a));
  console.log(JSON.stringify({ chosen: best.model, energyScore: best.energyScore, energyW1: best.energyW1, meetsLines: best.meetsLines, candidates: rows.length, eligible: eligible.length }));
}

main();
