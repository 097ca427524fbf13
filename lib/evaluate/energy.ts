// Energies: OpenMM force-field terms of every frame on both sides, compared by Wasserstein-1.
import { wasserstein1, type Coordinates } from '../analysis';
import { Energy } from '../forcefield/energy';
import type { ForceField } from '../forcefield/system';
import { concat, histogramSet, median, moments, plotRange } from './common';
import type { Metrics } from './metrics';

/** The section, and the reference's total energy per frame (files in order) for the sections that colour by it. */
export async function energySection(ff: ForceField, ref: Coordinates[], traj: Coordinates[], threads?: number, device?: string): Promise<{ section: Metrics['energy']; referenceTotal: Float64Array }> {
  const energy = Energy.fromForceField(ff);
  const columns = ['total', ...energy.terms];
  type Columns = Record<string, Float64Array>;
  /** every column per file, in order */
  const run = async (trajs: Coordinates[]): Promise<Columns[]> => {
    const files: Columns[] = [];
    for (const t of trajs) {
      const out: Record<string, Float64Array[]> = Object.fromEntries(columns.map((c) => [c, []]));
      const size = t.atoms * 3;
      // Chunks bound the native job's memory for long trajectories.
      for (let s = 0; s < t.frames; s += 1024) {
        const n = Math.min(1024, t.frames - s);
        const e = await energy.evaluate({ data: t.coords.subarray(s * size, (s + n) * size), shape: [n, t.atoms, 3] }, { threads, device });
        for (const c of columns) out[c].push(Float64Array.from(c === 'total' ? e.total : e.terms[c]));
      }
      files.push(Object.fromEntries(columns.map((c) => [c, concat(out[c])])));
    }
    return files;
  };
  const joined = (files: Columns[]): Columns => Object.fromEntries(columns.map((c) => [c, concat(files.map((f) => f[c]))]));
  const stats = (x: Columns) => Object.fromEntries(columns.map((c) => [c, moments(x[c])]));
  // Per file, so a set of runs shows which of them carries a difference the pooled figures average over.
  const perFile = (files: Columns[]) => files.map((f) => ({ frames: f.total.length, median: median(Array.from(f.total)), columns: stats(f) }));
  const rFiles = await run(ref);
  const bFiles = await run(traj);
  const r = joined(rFiles);
  const b = joined(bFiles);
  const section: Metrics['energy'] = {
    unit: 'kJ/mol',
    terms: columns,
    reference: stats(r),
    backmapped: stats(b),
    w1: Object.fromEntries(columns.map((c) => [c, wasserstein1(r[c], b[c])])),
    histogram: histogramSet({ reference: r.total, backmapped: b.total }, plotRange(r.total, b.total), 60),
    files: { reference: perFile(rFiles), backmapped: perFile(bFiles) },
  };
  return { section, referenceTotal: r.total };
}
