// Ensembles: S independent rollouts of one CG trajectory (`backmap --samples S`),
// their output files and how far the samples spread around each other.
import * as path from 'path';

/**
 * The file of sample `i` of an ensemble written to `out`: the index goes before
 * the extension, `traj.dcd` → `traj.0.dcd`, `traj.1.dcd`, …
 */
export function sampleFile(out: string, i: number): string {
  const ext = path.extname(out);
  return `${out.slice(0, out.length - ext.length)}.${i}${ext}`;
}

/** Per-atom spread of the samples around their mean, nm: over frames and atoms. */
export interface SpreadStats {
  /** root mean square over frames and atoms (as an RMSF is) */
  rms: number;
  /** largest over frames and atoms */
  max: number;
  /** the frame of the largest */
  maxFrame: number;
}

export interface EnsembleSpread {
  samples: number;
  frames: number;
  /** atoms the beads sit on (absent when the mapping gives none) */
  bead: SpreadStats | null;
  nonBead: SpreadStats | null;
}

/**
 * Accumulates, frame by frame, each atom's spread across S samples: the root mean
 * square distance of its S positions from their mean, √(Σᵢ|xᵢ − x̄|² / S).
 */
export class SpreadAccumulator {
  private readonly isBead: Uint8Array;
  private readonly groups = [0, 1].map(() => ({ sum: 0, count: 0, max: 0, maxFrame: -1 }));
  private frames = 0;

  constructor(
    private readonly samples: number,
    private readonly atoms: number,
    beadAtoms: Iterable<number>,
  ) {
    this.isBead = new Uint8Array(atoms);
    for (const a of beadAtoms) this.isBead[a] = 1;
  }

  /** `coords[i]`: sample i's frames [frames, atoms, 3]; `start` the first frame's index in the trajectory. */
  add(coords: readonly ArrayLike<number>[], frames: number, start: number): void {
    const S = this.samples;
    const N = this.atoms;
    for (let f = 0; f < frames; f++) {
      for (let a = 0; a < N; a++) {
        const o = (f * N + a) * 3;
        let mx = 0, my = 0, mz = 0;
        for (let i = 0; i < S; i++) {
          mx += coords[i][o];
          my += coords[i][o + 1];
          mz += coords[i][o + 2];
        }
        mx /= S;
        my /= S;
        mz /= S;
        let ss = 0;
        for (let i = 0; i < S; i++) ss += (coords[i][o] - mx) ** 2 + (coords[i][o + 1] - my) ** 2 + (coords[i][o + 2] - mz) ** 2;
        const spread = Math.sqrt(ss / S);
        const g = this.groups[this.isBead[a]];
        g.sum += ss / S;
        g.count++;
        if (spread > g.max || g.maxFrame < 0) {
          g.max = spread;
          g.maxFrame = start + f;
        }
      }
    }
    this.frames += frames;
  }

  result(): EnsembleSpread {
    const stats = (g: (typeof this.groups)[number]): SpreadStats | null => (g.count ? { rms: Math.sqrt(g.sum / g.count), max: g.max, maxFrame: g.maxFrame } : null);
    return { samples: this.samples, frames: this.frames, bead: stats(this.groups[1]), nonBead: stats(this.groups[0]) };
  }
}
