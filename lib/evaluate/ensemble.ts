// Ensembles (`evaluate --samples S`): S backmappings of one CG trajectory, written by
// `backmap --samples S`. How far the samples spread around each other, against how far
// the reference's atoms move from one frame to the next; the other sections pool them.
import type { Coordinates } from '../analysis';
import { TcbmError } from '../core/errors';
import { SpreadAccumulator, sampleFile, type SpreadStats } from '../inference/ensemble';
import { applySuperposition, superpose } from '../inference/superpose';
import { esc, fmt, table } from './html';
import type { EnsembleSection } from './metrics';

/** The files of the ensembles `traj` names: sampleFile(t, i) for each t, i < samples. */
export function ensembleFiles(traj: readonly string[], samples: number): string[] {
  return traj.flatMap((t) => Array.from({ length: samples }, (_, i) => sampleFile(t, i)));
}

/**
 * Root mean square displacement of the atoms of each group between consecutive
 * frames, nm, after superposing each frame on the one before (internal motion only:
 * the samples share their CG frames, so their spread has no rigid-body part either).
 */
function frameToFrame(trajs: readonly Coordinates[], isBead: Uint8Array): [number, number, number, number] {
  const sum = [0, 0];
  const count = [0, 0];
  for (const t of trajs) {
    const N = t.atoms;
    const moved = new Float32Array(N * 3);
    for (let f = 1; f < t.frames; f++) {
      applySuperposition(superpose(t.coords, f * N * 3, t.coords, (f - 1) * N * 3, N), t.coords, f * N * 3, N, moved, 0);
      for (let a = 0; a < N; a++) {
        const p = ((f - 1) * N + a) * 3;
        sum[isBead[a]] += (moved[3 * a] - t.coords[p]) ** 2 + (moved[3 * a + 1] - t.coords[p + 1]) ** 2 + (moved[3 * a + 2] - t.coords[p + 2]) ** 2;
        count[isBead[a]]++;
      }
    }
  }
  return [Math.sqrt(sum[1] / Math.max(1, count[1])), count[1], Math.sqrt(sum[0] / Math.max(1, count[0])), count[0]];
}

/**
 * `traj`: the samples, ensemble by ensemble (S consecutive entries each, as
 * ensembleFiles lists them); `names` their files. Every sample of an ensemble
 * must have the same frames.
 */
export function ensembleSection(
  traj: readonly Coordinates[],
  names: readonly string[],
  samples: number,
  ref: readonly Coordinates[],
  beadAtoms: readonly number[] | null,
): EnsembleSection {
  const atoms = ref[0].atoms;
  const isBead = new Uint8Array(atoms);
  for (const a of beadAtoms ?? []) isBead[a] = 1;
  const ensembles: EnsembleSection['ensembles'] = [];
  for (let e = 0; e < traj.length / samples; e++) {
    const members = traj.slice(e * samples, (e + 1) * samples);
    const frames = members[0].frames;
    members.forEach((m, i) => {
      if (m.frames !== frames) {
        throw new TcbmError('ERR_INVALID_ARG_VALUE', `${names[e * samples + i]}: has ${m.frames} frames, sample 0 of its ensemble (${names[e * samples]}) ${frames}: not samples of one CG trajectory`);
      }
    });
    const acc = new SpreadAccumulator(samples, atoms, beadAtoms ?? []);
    acc.add(members.map((m) => m.coords), frames, 0);
    const r = acc.result();
    ensembles.push({ files: names.slice(e * samples, (e + 1) * samples), frames, bead: r.bead, other: r.nonBead });
  }
  const [refBead, beadCount, refOther] = frameToFrame(ref, isBead);
  const [ownBead, , ownOther] = frameToFrame(traj, isBead);
  const pooled = (pick: (x: EnsembleSection['ensembles'][number]) => SpreadStats | null): number | null => {
    const rows = ensembles.map((x) => ({ s: pick(x), frames: x.frames })).filter((x) => x.s !== null);
    if (rows.length === 0) return null;
    const frames = rows.reduce((a, x) => a + x.frames, 0);
    return Math.sqrt(rows.reduce((a, x) => a + x.s!.rms ** 2 * x.frames, 0) / frames);
  };
  const spreadBead = pooled((x) => x.bead);
  const spreadOther = pooled((x) => x.other);
  return {
    samples,
    unit: 'nm',
    ensembles,
    spread: { bead: spreadBead, other: spreadOther },
    referenceFrameToFrame: { bead: beadCount ? refBead : null, other: refOther },
    backmappedFrameToFrame: { bead: beadCount ? ownBead : null, other: ownOther },
    spreadOverFluctuation: {
      bead: spreadBead !== null && beadCount && refBead > 0 ? spreadBead / refBead : null,
      other: spreadOther !== null && refOther > 0 ? spreadOther / refOther : null,
    },
  };
}

/** The report's "Ensemble" section (evaluate --samples). */
export function ensembleBlock(s: EnsembleSection): string {
  const nm = (x: number | null | undefined) => fmt(x, 3);
  const row = (name: string, bead: number | null, other: number | null) => [name, nm(bead), nm(other)];
  return `<h2>Ensemble (${s.samples} samples)</h2>
<p>Each CG trajectory backmapped ${s.samples} times with different latent draws (<code>backmap --samples</code>).
Spread: each atom's RMS distance from the samples' mean position, frame by frame. Every other section of this page pools the samples.</p>
${table(
  ['nm', 'bead atoms', 'other atoms'],
  [
    row('spread across samples (RMS)', s.spread.bead, s.spread.other),
    row('reference, frame-to-frame RMS displacement (superposed)', s.referenceFrameToFrame.bead, s.referenceFrameToFrame.other),
    row('backmapped, frame-to-frame RMS displacement (superposed)', s.backmappedFrameToFrame.bead, s.backmappedFrameToFrame.other),
    row('spread / reference frame-to-frame', s.spreadOverFluctuation.bead, s.spreadOverFluctuation.other),
  ],
)}
${table(
  ['ensemble', 'frames', 'bead spread RMS (max, frame)', 'other spread RMS (max, frame)'],
  s.ensembles.map((e) => [
    esc(e.files[0].replace(/\.0(\.[^./]*)?$/, '.*$1')),
    String(e.frames),
    e.bead ? `${nm(e.bead.rms)} (${nm(e.bead.max)}, ${e.bead.maxFrame})` : '–',
    e.other ? `${nm(e.other.rms)} (${nm(e.other.max)}, ${e.other.maxFrame})` : '–',
  ]),
)}`;
}
