// What `evaluate` is asked to do: its inputs and settings (types only, shared by the stages).

export interface EvaluateOptions {
  /** atomistic topology (PDB) */
  top: string;
  /** OpenMM System XML: energies, the bond graph, the angle triplets */
  system: string;
  /** reference atomistic trajectory file(s); each file is its own trajectory */
  ref: string | readonly string[];
  /** backmapped trajectory file(s), same atoms; each file is its own trajectory */
  traj: string | readonly string[];
  /**
   * > 1: each `traj` names an ensemble written by backmap's `samples`, read from
   * its S files (traj.0.dcd …); the sections pool them and `ensemble` reports their spread
   */
  samples?: number;
  /** ps between frames (default 1) */
  dtPs?: number;
  /** atom indices that are CG beads (their speeds are left out of the non-bead velocity distribution) */
  beadAtoms?: readonly number[];
  /** when beadAtoms is absent: a mapping ('ca', 'adp', a JSON file) or 'auto' (adp for a dipeptide, else ca); none by default */
  map?: string;
  /** MSM lags for the implied timescales, frames (default 1, 2, 5, 10, 20, 50 that fit the trajectories) */
  lags?: readonly number[];
  /** lag of the MSMs whose eigenvectors are compared, frames (default 5) */
  msmLag?: number;
  /** TICA lag for proteins, frames (default 10) */
  ticaLag?: number;
  /** k-means centres fitted on the reference (default 100 for φ/ψ, 150 for TICA) */
  clusters?: number;
  /** bootstrap samples per implied-timescale curve (default 20) */
  bootstrap?: number;
  /** FES bins per axis (default 60 for φ/ψ, 40 for TICA) */
  fesBins?: number;
  /** seed of k-means++ and the bootstrap (default 1) */
  seed?: number;
  /** at most this many reference frames fit k-means, evenly strided (default 10000) */
  maxFitFrames?: number;
  /** at most this many frames per side for bond, angle, chirality and clash statistics, evenly strided (default 20000) */
  maxStructureFrames?: number;
  /** a model file (.tcbm) of this molecule: adds the latent-space section (its encoder's posteriors of reference pairs) */
  model?: string;
  /** at most this many reference pairs are encoded for the latent-space section, evenly spaced (default 5000) */
  latentPairs?: number;
  /** libtorch threads of the energy evaluation and the encoder */
  threads?: number;
  /** libtorch device of the energy evaluation: "cpu" (default), "cuda" or "cuda:N" (CUDA untested: no GPU on the development machines) */
  device?: string;
  signal?: AbortSignal;
  /** called as each of `total` stages starts (done = stages finished) */
  onProgress?: (stage: string, done: number, total: number) => void;
}
