// The evaluation report: metrics.json plus an index.html that opens offline. Every plot is a
// Vega-Lite spec rendered to SVG here in Node (vega's headless View), inlined, so the page needs
// no script, no network and no plotting library in the browser.
import { promises as fsp, statSync } from 'fs';
import * as path from 'path';
import type { TopLevelSpec } from 'vega-lite';
import type { GeometrySection, HistogramSet, Metrics, SpeedSection, TimescaleCurves } from './metrics';
import { fileError } from '../core/errors';
import { openAtomic } from '../io/atomic';
import { esc, fmt, pct, renderSvg, table } from './html';
import { ensembleBlock } from './ensemble';
import { latentBlock } from './latent-report';

export { renderSvg };

const COLORS = { reference: '#1f77b4', backmapped: '#d62728', rescaled: '#2ca02c' };
const SET_SCALE = {
  domain: ['reference', 'backmapped', 'backmapped × s'],
  range: [COLORS.reference, COLORS.backmapped, COLORS.rescaled],
};

export interface ReportFiles {
  dir: string;
  metrics: string;
  html: string;
}

/** Writes <dir>/metrics.json and <dir>/index.html, each atomically (the folder is created). */
export async function writeReport(metrics: Metrics, dir: string): Promise<ReportFiles> {
  const html = await renderReport(metrics);
  let created: string | undefined;
  try {
    created = await fsp.mkdir(dir, { recursive: true });
  } catch (err) {
    throw fileError('ERR_FILE_NOT_FOUND', dir, `cannot create the report folder (${(err as NodeJS.ErrnoException).code})`);
  }
  const files = { dir, metrics: path.join(dir, 'metrics.json'), html: path.join(dir, 'index.html') };
  try {
    await writeAtomically(files.metrics, JSON.stringify(metrics, null, 1) + '\n');
    await writeAtomically(files.html, html);
  } catch (err) {
    // a folder this call made holds nothing complete: leave none behind
    if (created) await fsp.rm(created, { recursive: true, force: true });
    throw err;
  }
  return files;
}

/** Refuses, before any work, a report folder path that is an existing file. */
export function checkReportDir(dir: string): void {
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    return;
  }
  if (!stat.isDirectory()) throw fileError('ERR_INVALID_ARG_VALUE', dir, 'is a file; --out names the report folder (created if missing)');
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const out = await openAtomic(file);
  try {
    await out.handle.writeFile(text, 'utf8');
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

// ───────────────────────────── plot specs ─────────────────────────────

/** Rows {x, density, set} of a histogram set, densities normalised over all samples (outside ones included). */
function densityRows(h: HistogramSet, names: Record<string, string>): { x: number; density: number; set: string }[] {
  const width = (h.hi - h.lo) / h.bins;
  const rows: { x: number; density: number; set: string }[] = [];
  for (const [key, set] of Object.entries(names)) {
    const counts = h.counts[key];
    if (!counts) continue;
    const total = counts.reduce((a, b) => a + b, 0) + (h.outside[key] ?? 0);
    counts.forEach((c, i) => rows.push({ x: h.lo + (i + 0.5) * width, density: total > 0 ? c / (total * width) : 0, set }));
  }
  return rows;
}

function histogramSpec(h: HistogramSet, names: Record<string, string>, xTitle: string, title: string, width = 360, height = 220): TopLevelSpec {
  // Only the sets drawn get a legend entry; the rescaled curve is dashed.
  const domain = SET_SCALE.domain.filter((d) => Object.values(names).includes(d));
  const colors = domain.map((d) => SET_SCALE.range[SET_SCALE.domain.indexOf(d)]);
  const dashes = domain.map((d) => (d === 'backmapped × s' ? [5, 3] : [1, 0]));
  return {
    title: { text: title, fontSize: 12 },
    width,
    height,
    data: { values: densityRows(h, names) },
    mark: { type: 'line', interpolate: 'step', strokeWidth: 1.6 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle, scale: { zero: false, domain: [h.lo, h.hi] } },
      y: { field: 'density', type: 'quantitative', title: 'probability density' },
      color: { field: 'set', type: 'nominal', title: null, scale: { domain, range: colors }, legend: { orient: 'top' } },
      strokeDash: { field: 'set', type: 'nominal', title: null, scale: { domain, range: dashes }, legend: { orient: 'top' } },
    },
  };
}

function w1BarsSpec(g: GeometrySection, title: string): TopLevelSpec {
  const sorted = g.items.map((it, i) => ({ i, w1: it.w1, label: it.label })).sort((a, b) => b.w1 - a.w1);
  const labelled = sorted.length <= 30;
  return {
    title: { text: title, fontSize: 12 },
    width: Math.max(360, Math.min(900, sorted.length * (labelled ? 18 : 4))),
    height: 200,
    data: { values: sorted.map((s, rank) => ({ ...s, rank })) },
    mark: { type: 'bar', color: '#555' },
    encoding: labelled
      ? {
          x: { field: 'label', type: 'nominal', sort: { field: 'rank', order: 'ascending' }, title: null, axis: { labelAngle: -60, labelFontSize: 9, labelLimit: 160 } },
          y: { field: 'w1', type: 'quantitative', title: `W1 (${g.unit})` },
        }
      : {
          x: { field: 'rank', type: 'ordinal', title: `${g.count} terms, sorted by W1`, axis: { labels: false, ticks: false } },
          y: { field: 'w1', type: 'quantitative', title: `W1 (${g.unit})` },
        },
  };
}

function fesSpec(m: Metrics): TopLevelSpec | null {
  const t = m.thermodynamics;
  if (!t.counts || !t.x || !t.y) return null;
  const { x, y } = t;
  const wx = (x.hi - x.lo) / x.bins;
  const wy = (y.hi - y.lo) / y.bins;
  // F = −ln p in kT, each map shifted to its own minimum; empty bins are left blank.
  const rows: { x: number; x2: number; y: number; y2: number; F: number; set: string }[] = [];
  let fMax = 0;
  for (const [set, counts] of [['reference', t.counts.reference], ['backmapped', t.counts.backmapped]] as const) {
    const total = counts.reduce((a, b) => a + b, 0) + (t.outside?.[set] ?? 0);
    let fMin = Infinity;
    const F = counts.map((c) => (c > 0 ? -Math.log(c / total) : Infinity));
    for (const f of F) if (f < fMin) fMin = f;
    F.forEach((f, b) => {
      if (!Number.isFinite(f)) return;
      const ix = Math.floor(b / y.bins);
      const iy = b % y.bins;
      const v = f - fMin;
      if (v > fMax) fMax = v;
      rows.push({ x: x.lo + ix * wx, x2: x.lo + (ix + 1) * wx, y: y.lo + iy * wy, y2: y.lo + (iy + 1) * wy, F: v, set });
    });
  }
  const panel = (set: string) => ({
    title: { text: set, fontSize: 12 },
    width: 300,
    height: 300,
    transform: [{ filter: `datum.set === '${set}'` }],
    mark: { type: 'rect' as const },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: x.label, scale: { domain: [x.lo, x.hi], nice: false, zero: false } },
      x2: { field: 'x2' },
      y: { field: 'y', type: 'quantitative' as const, title: y.label, scale: { domain: [y.lo, y.hi], nice: false, zero: false } },
      y2: { field: 'y2' },
      color: { field: 'F', type: 'quantitative' as const, title: 'F (kT)', scale: { scheme: 'viridis', domain: [0, Math.min(fMax, 10)], clamp: true } },
    },
  });
  return {
    data: { values: rows },
    hconcat: [panel('reference'), panel('backmapped')],
    resolve: { scale: { color: 'shared' } },
  };
}

function timescalesSpec(m: Metrics): TopLevelSpec | null {
  const k = m.kinetics;
  if (!k.reference && !k.backmapped) return null;
  const lines: { lag: number; t: number; set: string; process: string }[] = [];
  const bars: { lag: number; lo: number; hi: number; set: string; process: string }[] = [];
  const add = (c: TimescaleCurves | null, set: string, shift: number) => {
    if (!c) return;
    k.lagTimesPs.forEach((lag, li) => {
      c.timescales[li].forEach((t, p) => {
        if (t !== null && t > 0) lines.push({ lag, t, set, process: `process ${p + 1}` });
        const lo = c.bootstrap?.lower[li][p];
        const hi = c.bootstrap?.upper[li][p];
        // Offsets by a few percent keep the two sets' error bars apart on the log axis.
        if (lo !== null && lo !== undefined && hi !== null && hi !== undefined && lo > 0 && hi > 0) bars.push({ lag: lag * shift, lo, hi, set, process: `process ${p + 1}` });
      });
    });
  };
  add(k.reference, 'reference', 0.97);
  add(k.backmapped, 'backmapped', 1.03);
  const all = [...lines.map((l) => l.t), ...bars.map((b) => b.lo), ...bars.map((b) => b.hi)];
  const lagLo = Math.min(...k.lagTimesPs) * 0.9;
  const lagHi = Math.max(...k.lagTimesPs) * 1.1;
  const tLo = Math.max(Math.min(...all, lagLo) * 0.7, 1e-3);
  const tHi = Math.max(...all, lagHi) * 1.4;
  const color = { field: 'set', type: 'nominal' as const, title: null, scale: { domain: ['reference', 'backmapped'], range: [COLORS.reference, COLORS.backmapped] }, legend: { orient: 'top' as const } };
  const xEnc = { field: 'lag', type: 'quantitative' as const, title: 'lag time (ps)', scale: { type: 'log' as const, domain: [lagLo, lagHi] } };
  const yScale = { type: 'log' as const, domain: [tLo, tHi] };
  return {
    title: { text: `implied timescales (${k.clusters} k-means states on ${k.features}; bars: 95 % bootstrap intervals)`, fontSize: 12 },
    width: 520,
    height: 320,
    layer: [
      {
        // Timescales below the lag cannot be resolved: the grey line t = τ marks that limit.
        data: { values: [{ lag: lagLo, t: lagLo }, { lag: lagHi, t: lagHi }] },
        mark: { type: 'line', color: '#999', strokeDash: [2, 2] },
        encoding: { x: xEnc, y: { field: 't', type: 'quantitative', scale: yScale, title: 'implied timescale (ps)' } },
      },
      {
        data: { values: bars },
        mark: { type: 'rule', strokeWidth: 1.2 },
        encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative', scale: yScale }, y2: { field: 'hi' }, color, detail: { field: 'process' } },
      },
      {
        data: { values: lines },
        mark: { type: 'line', point: true, strokeWidth: 1.5 },
        encoding: {
          x: xEnc,
          y: { field: 't', type: 'quantitative', scale: yScale },
          color,
          detail: { field: 'process' },
          strokeDash: { field: 'set', type: 'nominal', title: null, scale: { domain: ['reference', 'backmapped'], range: [[1, 0], [5, 3]] }, legend: { orient: 'top' } },
        },
      },
    ],
  };
}

function acfSpec(m: Metrics): TopLevelSpec | null {
  const items = [...m.sidechains.items].filter((i) => i.acfDifference !== null).sort((a, b) => b.acfDifference! - a.acfDifference!).slice(0, 4);
  if (items.length === 0) return null;
  const dt = m.inputs.dtPs;
  const panel = (it: (typeof items)[number]) => {
    const rows: { tau: number; c: number; set: string }[] = [];
    for (const set of ['reference', 'backmapped'] as const) it.acf[set].forEach((c, tau) => c !== null && rows.push({ tau: tau * dt, c, set }));
    return {
      title: { text: `${it.residue} ${it.kind === 'chi1' ? 'χ1' : 'χ2'} (mean |ΔC| ${fmt(it.acfDifference, 2)})`, fontSize: 11 },
      width: 200,
      height: 150,
      data: { values: rows },
      mark: { type: 'line' as const, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'tau', type: 'quantitative' as const, title: 'τ (ps)' },
        y: { field: 'c', type: 'quantitative' as const, title: 'C(τ)', scale: { domain: [-0.2, 1] } },
        color: { field: 'set', type: 'nominal' as const, title: null, scale: { domain: ['reference', 'backmapped'], range: [COLORS.reference, COLORS.backmapped] }, legend: { orient: 'top' as const } },
      },
    };
  };
  return { hconcat: items.map(panel) } as TopLevelSpec;
}

// ───────────────────────────── the page ─────────────────────────────

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1180px; padding: 1.2em 2em 3em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.plots svg { max-width: 100%; height: auto; }
.note { color: #555; font-size: 13px; }
code { font-size: 12px; background: #f4f4f4; padding: 0 3px; }
`;

function speedBlock(s: SpeedSection | null, title: string): { svg: Promise<string> | null; row: string[] | null } {
  if (!s) return { svg: null, row: null };
  const names = { reference: 'reference', backmapped: 'backmapped', rescaled: 'backmapped × s' };
  return {
    svg: renderSvg(histogramSpec(s.histogram, names, 'RMS frame-to-frame speed (nm/ps)', `${title}: ${s.atoms} atoms; s = ${fmt(s.scale, 4)}`, 420)),
    row: [title, String(s.atoms), fmt(s.reference.mean, 4), fmt(s.backmapped.mean, 4), fmt(s.scale, 4), fmt(s.jsBefore), fmt(s.jsAfter), fmt(s.w1Before), fmt(s.w1After)],
  };
}

function geometryBlock(g: GeometrySection, noun: string, unitLabel: string): Promise<string[]> {
  if (g.count === 0) return Promise.resolve([]);
  const which = ['largest W1', 'median W1', 'smallest W1'];
  return Promise.all([
    ...g.shown.map((s, k) => {
      const it = g.items[s.index];
      return renderSvg(
        histogramSpec(s.histogram, { reference: 'reference', backmapped: 'backmapped' }, `${noun} (${unitLabel})`, `${it.label} (${which[k] ?? ''}: W1 ${fmt(it.w1)} ${unitLabel})`, 300, 180),
      );
    }),
    renderSvg(w1BarsSpec(g, `W1 of every ${noun} (${g.count}), mean ${fmt(g.meanW1)} ${unitLabel}`)),
  ]);
}

/** The report page as one self-contained HTML string. */
export async function renderReport(m: Metrics): Promise<string> {
  const e = m.energy;
  const energySvg = renderSvg(
    histogramSpec(e.histogram, { reference: 'reference', backmapped: 'backmapped' }, 'internal energy (kJ/mol)', `total internal energy: W1 ${fmt(e.w1.total)} kJ/mol`, 480, 260),
  );
  const bondSvgs = geometryBlock(m.bonds, 'bond length', 'nm');
  const angleSvgs = geometryBlock(m.angles, 'bond angle', 'deg');
  const fes = fesSpec(m);
  const fesSvg = fes ? renderSvg(fes) : null;
  const its = timescalesSpec(m);
  const itsSvg = its ? renderSvg(its) : null;
  const vAll = speedBlock(m.velocities.all, 'all atoms');
  const vNon = speedBlock(m.velocities.nonBead, 'non-bead atoms');
  const acf = acfSpec(m);
  const acfSvg = acf ? renderSvg(acf) : null;
  const [energyPlot, bondPlots, anglePlots, fesPlot, itsPlot, vAllPlot, vNonPlot, acfPlot, latentSection] = await Promise.all([
    energySvg, bondSvgs, angleSvgs, fesSvg, itsSvg, vAll.svg, vNon.svg, acfSvg, latentBlock(m.latent),
  ]);

  const s = m.summary;
  const k = m.kinetics;
  const t = m.thermodynamics;
  const files = (f: string[]) => f.map((x) => esc(path.basename(x))).join(', ');
  const frames = (n: number[]) => n.reduce((a, b) => a + b, 0).toLocaleString('en-US');
  const parts: string[] = [];
  parts.push(`<h1>tcbackmap evaluation</h1>
<p class="sub">reference <b>${files(m.inputs.ref)}</b> (${frames(m.inputs.framesRef)} frames) vs backmapped <b>${files(m.inputs.traj)}</b> (${frames(m.inputs.framesTraj)} frames);
${m.inputs.atoms} atoms, ${fmt(m.inputs.dtPs)} ps between frames; topology ${esc(path.basename(m.inputs.top))}, system ${esc(path.basename(m.inputs.system))}; ${fmt(m.seconds, 3)} s.</p>`);

  parts.push('<h2>Summary</h2>');
  parts.push(
    table(
      ['metric', 'value', 'what it means'],
      [
        ['energy W1', `${fmt(s.energyW1)} kJ/mol`, 'distance between the total internal energy distributions'],
        ['bond length W1 (mean)', `${fmt(s.bondMeanW1Nm)} nm`, `over ${m.bonds.count} bonds of the System's bond graph`],
        ['bond angle W1 (mean)', `${fmt(s.angleMeanW1Deg)}°`, `over ${m.angles.count} angles (${esc(m.angles.source)})`],
        ['chirality differing', pct(s.chiralityDiffering), `(frame, CA) values whose hand differs from the reference's majority; ${m.chirality.centers.length} centres`],
        ['clash frames', `${pct(s.clashFrameFraction.reference)} ref / ${pct(s.clashFrameFraction.backmapped)} backmapped`, 'frames with a heavy-atom pair closer than 0.8 × vdW'],
        ['FES Jensen–Shannon', `${fmt(s.fesJensenShannon)} nats`, `${esc(t.method === 'phi-psi' ? 'φ/ψ' : t.method === 'tica' ? 'TICA IC1/IC2' : 'not computed')} histograms on one grid (0 = identical, ln 2 = disjoint)`],
        ['slowest timescale', `${fmt(s.slowestTimescalePs.reference)} / ${fmt(s.slowestTimescalePs.backmapped)} ps`, `reference / backmapped MSM at lag ${k.msmLag} frames`],
        ['eigenvector similarity', s.eigenvectorSimilarity.map((x) => fmt(x)).join(', ') || '–', 'cosine of left eigenvectors 0 (stationary), 1, 2 on shared states'],
        ['velocity rescale s', `${fmt(s.velocityScale, 4)} (JS after ${fmt(s.velocityJsAfter)})`, 'factor matching mean RMS speeds, all atoms; JS of the shapes after rescaling'],
        ['non-bead velocity rescale s', `${fmt(s.nonBeadVelocityScale, 4)} (JS after ${fmt(s.nonBeadVelocityJsAfter)})`, `atoms that are not CG beads (${esc(m.settings.beads ?? 'no beads given')})`],
        ['side-chain rate ratio (median)', fmt(s.sidechainMedianRateRatio), 'backmapped / reference rotamer transition rate over χ1/χ2'],
        ...(m.latent ? [['latent KL (total)', `${fmt(m.latent.kl.total)} nats`, `model's posteriors on the reference; ${m.latent.kl.activeDimensions} of ${m.latent.dimensions} dimensions above 0.01 nats`]] : []),
      ],
    ),
  );
  if (m.subsampling.length > 0) parts.push(`<p class="note">Subsampled: ${m.subsampling.map(esc).join('; ')}.</p>`);

  parts.push('<h2>Energy</h2>');
  parts.push(`<div class="plots">${energyPlot}</div>`);
  parts.push(
    table(
      ['term', 'reference mean ± std', 'backmapped mean ± std', 'W1'],
      e.terms.map((c) => [esc(c), `${fmt(e.reference[c].mean, 5)} ± ${fmt(e.reference[c].std)}`, `${fmt(e.backmapped[c].mean, 5)} ± ${fmt(e.backmapped[c].std)}`, fmt(e.w1[c])]),
    ),
  );
  if (e.files.reference.length > 1 || e.files.backmapped.length > 1) {
    const rows = (side: 'reference' | 'backmapped', names: string[]) =>
      e.files[side].map((f, i) => [
        `${side} ${esc(path.basename(names[i]))}`,
        String(f.frames),
        `${fmt(f.columns.total.mean, 5)} ± ${fmt(f.columns.total.std)}`,
        fmt(f.median, 5),
        ...e.terms.slice(1).map((c) => fmt(f.columns[c].mean, 5)),
      ]);
    parts.push('<p class="note">Per file (mean of each term):</p>');
    parts.push(table(['file', 'frames', 'total mean ± std', 'total median', ...e.terms.slice(1).map(esc)], [...rows('reference', m.inputs.ref), ...rows('backmapped', m.inputs.traj)]));
  }
  const eOut = e.histogram.outside.backmapped;
  if (eOut > 0) parts.push(`<p class="note">${eOut} backmapped frames lie outside the plotted energy range.</p>`);

  parts.push('<h2>Bond lengths</h2>');
  parts.push(`<p class="note">Mean W1 ${fmt(m.bonds.meanW1)} nm, median ${fmt(m.bonds.medianW1)}, max ${fmt(m.bonds.maxW1)} over ${m.bonds.count} bonds.</p>`);
  parts.push(`<div class="plots">${bondPlots.join('')}</div>`);
  parts.push('<h2>Bond angles</h2>');
  parts.push(`<p class="note">Mean W1 ${fmt(m.angles.meanW1)}°, median ${fmt(m.angles.medianW1)}°, max ${fmt(m.angles.maxW1)}° over ${m.angles.count} angles.</p>`);
  parts.push(`<div class="plots">${anglePlots.join('')}</div>`);

  parts.push('<h2>Chirality and clashes</h2>');
  parts.push(
    m.chirality.centers.length
      ? table(
          ['CA', 'reference hand', 'differing (ref)', 'differing (backmapped)', 'flips (ref)', 'flips (backmapped)'],
          m.chirality.centers.map((c) => [esc(c.residue), c.referenceMajority, pct(c.differing.reference), pct(c.differing.backmapped), String(c.flips.reference), String(c.flips.backmapped)]),
        )
      : '<p class="note">No CA with a CB: no chirality check.</p>',
  );
  const cl = m.clashes;
  parts.push(
    table(
      ['clashes', 'frames with a clash', 'clashing pairs', 'closest pair (nm)'],
      [
        ['reference', pct(cl.reference.frameFraction), pct(cl.reference.pairFraction), fmt(cl.reference.minDistanceNm)],
        ['backmapped', pct(cl.backmapped.frameFraction), pct(cl.backmapped.pairFraction), fmt(cl.backmapped.minDistanceNm)],
      ],
    ),
  );
  parts.push(`<p class="note">${cl.heavyAtoms} heavy atoms, ${cl.pairs} pairs more than 3 bonds apart; a clash is a distance below ${cl.vdwScale} × the sum of Bondi radii.</p>`);

  parts.push('<h2>Free-energy surface</h2>');
  if (fesPlot) {
    const tica = t.tica ? ` TICA lag ${t.tica.lag} frames on ${esc(t.features)}; leading TICA timescales ${t.tica.timescalesPs.slice(0, 2).map((x) => fmt(x)).join(', ')} ps.` : ` Features: ${esc(t.features)}.`;
    parts.push(`<p class="note">F = −ln p in kT per map, each shifted to its minimum; blank = never visited. Jensen–Shannon ${fmt(t.jensenShannon)} nats.${tica}</p>`);
    parts.push(`<div class="plots">${fesPlot}</div>`);
    if (t.outside && t.outside.backmapped > 0) parts.push(`<p class="note">${t.outside.backmapped} backmapped frames fall off the reference's grid (counted as one extra bin in the JS).</p>`);
  } else {
    parts.push(`<p class="note">Not computed: ${esc(t.reason ?? 'no features')}.</p>`);
  }

  parts.push('<h2>Kinetics</h2>');
  if (itsPlot) {
    parts.push(`<div class="plots">${itsPlot}</div>`);
    const lagRows = k.lags.map((lag, li) => [
      `${lag} (${fmt(k.lagTimesPs[li])} ps)`,
      ...[k.reference, k.backmapped].flatMap((c) => (c ? [c.timescales[li].slice(0, 2).map((x) => fmt(x)).join(', '), String(c.activeStates[li])] : ['–', '–'])),
    ]);
    parts.push(table(['lag (frames)', 'reference t1, t2 (ps)', 'active', 'backmapped t1, t2 (ps)', 'active'], lagRows));
    parts.push(
      `<p class="note">k-means (k-means++, seed ${m.settings.seed}) with ${k.clusters} centres fitted on ${k.fitFrames} reference frames; reversible maximum-likelihood MSMs on the largest connected set; ${m.settings.bootstrap} bootstrap samples (${esc(k.reference?.bootstrap?.resample ?? '–')}). Eigenvector similarity at lag ${k.msmLag}: ${k.eigenvectorSimilarity.map((x) => fmt(x)).join(', ') || '–'} on ${k.sharedStates} shared states.</p>`,
    );
  } else {
    parts.push(`<p class="note">Not computed: ${esc(k.reason ?? 'no features')}.</p>`);
  }

  parts.push('<h2>Temporal coherence: frame-to-frame velocities</h2>');
  parts.push(`<div class="plots">${[vAllPlot, vNonPlot].filter(Boolean).join('')}</div>`);
  const vRows = [vAll.row, vNon.row].filter((r): r is string[] => r !== null);
  parts.push(table(['atoms', 'n', 'mean ref (nm/ps)', 'mean backmapped', 's', 'JS before', 'JS after', 'W1 before', 'W1 after'], vRows));
  parts.push(
    `<p class="note">RMS over atoms of |x(t+1) − x(t)| / Δt per frame pair (never across files). s rescales the backmapped speeds to the reference mean (paper §3.1.3); the JS after rescaling compares the shapes.${m.velocities.reason ? ' ' + esc(m.velocities.reason) + '.' : ''}</p>`,
  );

  parts.push('<h2>Side chains</h2>');
  if (m.sidechains.items.length > 0) {
    if (acfPlot) parts.push(`<p class="note">χ autocorrelations of the four dihedrals that differ most:</p><div class="plots">${acfPlot}</div>`);
    parts.push(
      table(
        ['residue', 'angle', 'rate ref (1/ps)', 'rate backmapped', 'ratio', 'transitions ref', 'transitions backmapped', 'mean |ΔC(τ)|'],
        m.sidechains.items.map((i) => [
          esc(i.residue), i.kind === 'chi1' ? 'χ1' : 'χ2', fmt(i.reference.rate), fmt(i.backmapped.rate), fmt(i.rateRatio),
          String(i.reference.transitions), String(i.backmapped.transitions), fmt(i.acfDifference),
        ]),
      ),
    );
  } else {
    parts.push(`<p class="note">${esc(m.sidechains.reason ?? 'none')}.</p>`);
  }
  if (m.ensemble) parts.push(ensembleBlock(m.ensemble));
  if (latentSection) parts.push(latentSection);
  parts.push('<p class="note">Every number on this page is in metrics.json beside it.</p>');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tcbackmap evaluation: ${files(m.inputs.traj)} vs ${files(m.inputs.ref)}</title>
<style>${CSS}</style>
</head>
<body>
${parts.join('\n')}
</body>
</html>
`;
}
