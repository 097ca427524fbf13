// metrics.json's shape, key by key: the Metrics type and the types it is made of. Types only, so the
// report (report.ts) reads metrics without knowing how they are computed.

/** Mean and standard deviation. */
export interface Moments {
  mean: number | null;
  std: number | null;
}

/** One file's energies: its frames, the median of its total, and each column's ('total', then one per force) moments. */
export interface FileEnergy {
  frames: number;
  median: number | null;
  columns: Record<string, Moments>;
}

/** Counts of several samples on one grid (bins of equal width on [lo, hi]); `outside` = samples off the grid. */
export interface HistogramSet {
  lo: number;
  hi: number;
  bins: number;
  counts: Record<string, number[]>;
  outside: Record<string, number>;
}

export interface GeometryItem {
  /** 0-based atom indices */
  atoms: number[];
  /** e.g. "ALA2:N-ALA2:CA" */
  label: string;
  reference: Moments;
  backmapped: Moments;
  /** Wasserstein-1 between the two distributions (in the section's unit) */
  w1: number;
}

export interface GeometrySection {
  unit: 'nm' | 'deg';
  /** 'HarmonicBondForce' / 'HarmonicAngleForce', or 'bond graph' for angles built from bonded triplets */
  source: string;
  count: number;
  meanW1: number | null;
  medianW1: number | null;
  maxW1: number | null;
  items: GeometryItem[];
  /** histograms of a few representative items (largest, median and smallest W1) */
  shown: { index: number; histogram: HistogramSet }[];
}

export interface TimescaleCurves {
  /** per lag: the slowest timescales (ps) of the MSM on all the data; null where the model has fewer processes */
  timescales: (number | null)[][];
  activeStates: number[];
  activeCountFraction: number[];
  /**
   * per lag and process (ps): the Bayesian block bootstrap's mean, its bias (median of the
   * resamples − estimate) and the bias-corrected 95 % percentile interval
   */
  bootstrap: { samples: number; resample: string; mean: (number | null)[][]; bias: (number | null)[][]; lower: (number | null)[][]; upper: (number | null)[][] } | null;
}

export interface SpeedSection {
  /** atoms in the RMS */
  atoms: number;
  /** RMS speed per frame pair, nm/ps */
  reference: Moments;
  backmapped: Moments;
  /** factor s with mean(s · backmapped) = mean(reference) (paper §3.1.3) */
  scale: number | null;
  /** Jensen–Shannon (nats) of the speed histograms before and after rescaling the backmapped speeds by scale */
  jsBefore: number | null;
  jsAfter: number | null;
  /** Wasserstein-1 (nm/ps) before and after rescaling */
  w1Before: number | null;
  w1After: number | null;
  /** counts on a plotting grid: reference, backmapped, rescaled (= backmapped × scale) */
  histogram: HistogramSet;
}

export interface RotamerSummary {
  /** rotamer changes per ps between consecutive frames */
  rate: number | null;
  transitions: number;
  /** fractions in g+, t, g− */
  populations: (number | null)[];
}

export interface SidechainItem {
  residue: string;
  kind: 'chi1' | 'chi2';
  atoms: number[];
  reference: RotamerSummary;
  backmapped: RotamerSummary;
  /** backmapped rate / reference rate */
  rateRatio: number | null;
  /** normalised angle autocorrelation for τ = 0 … maxLag frames */
  acf: { reference: (number | null)[]; backmapped: (number | null)[] };
  /** mean |C_backmapped(τ) − C_reference(τ)| over τ = 1 … maxLag */
  acfDifference: number | null;
}

/** A model's encoder on the reference (evaluate --model): posterior means, their PCA, the latent mixture and the KL. */
export interface LatentSection {
  /** the model file */
  model: string;
  /** latent dimensions */
  dimensions: number;
  /** false: a frame-based model, whose encoder sees (A(t), C(t)) only, so every frame is a sample */
  previousFrame: boolean;
  /** reference pairs (A(t-1), A(t), C(t)), t ≥ 1 within a file (frames for a frame-based model): encoded, and in all */
  pairs: number;
  available: number;
  /** PCA of the posterior means: their mean [dimensions], the first two unit components [2][dimensions] and the variance fraction each explains */
  centre: number[];
  components: number[][];
  explainedVariance: (number | null)[];
  /** mean over the pairs of KL(N(mu, exp(logvar)) ‖ N(0, 1)), nats, per dimension and summed */
  kl: { perDimension: number[]; total: number; activeDimensions: number };
  /** the model's latent mixture in the PCA plane: per component its weight, projected mean, 2x2 covariance [xx, xy, yy] and 2σ ellipse */
  mixture: { weight: number; mean: number[]; covariance: number[]; ellipse: { semiAxes: number[]; angleDeg: number } }[];
  /** what colours the points: the reference frame's total internal energy */
  energyUnit: 'kJ/mol';
  /** up to maxPoints evenly spaced pairs in the plane, with the energy of their frame A(t) */
  points: { pc1: number[]; pc2: number[]; energy: (number | null)[] };
}

/** An ensemble's samples' spread (RMS distance of each atom from the samples' mean), nm. */
export interface EnsembleSpread {
  rms: number;
  max: number;
  /** the frame of the largest */
  maxFrame: number;
}

/** evaluate --samples: S backmappings of each CG trajectory (`backmap --samples`), spread vs the reference's motion. */
export interface EnsembleSection {
  samples: number;
  unit: 'nm';
  /** per ensemble (each --traj): its sample files and frames, and the spread of bead atoms and of the other atoms (all atoms when no beads are known) */
  ensembles: { files: string[]; frames: number; bead: EnsembleSpread | null; other: EnsembleSpread | null }[];
  /** the spread's RMS over every ensemble's frames */
  spread: { bead: number | null; other: number | null };
  /** RMS displacement of an atom between consecutive frames, each superposed on the one before: the reference's, and the backmapped samples' own */
  referenceFrameToFrame: { bead: number | null; other: number };
  backmappedFrameToFrame: { bead: number | null; other: number };
  /** spread / the reference's frame-to-frame RMS displacement */
  spreadOverFluctuation: { bead: number | null; other: number | null };
}

/** metrics.json, key by key (units in the key names or the section's `unit`; null where a value is undefined, e.g. NaN). */
export interface Metrics {
  format: 'tcbackmap-metrics';
  version: 1;
  inputs: {
    top: string;
    system: string;
    ref: string[];
    traj: string[];
    atoms: number;
    /** frames per file */
    framesRef: number[];
    framesTraj: number[];
    dtPs: number;
  };
  settings: {
    seed: number;
    lags: number[];
    msmLag: number;
    ticaLag: number | null;
    clusters: number;
    bootstrap: number;
    fesBins: number;
    /** how the CG bead atoms were chosen ('beadAtoms', a mapping name) or null */
    beads: string | null;
    beadAtoms: number[] | null;
  };
  /** what was computed on a subset of frames, and how */
  subsampling: string[];
  /** headline numbers (also in the sections) */
  summary: {
    energyW1: number | null;
    bondMeanW1Nm: number | null;
    angleMeanW1Deg: number | null;
    chiralityDiffering: number | null;
    clashFrameFraction: { reference: number | null; backmapped: number | null };
    fesJensenShannon: number | null;
    slowestTimescalePs: { reference: number | null; backmapped: number | null };
    eigenvectorSimilarity: (number | null)[];
    velocityScale: number | null;
    velocityJsAfter: number | null;
    nonBeadVelocityScale: number | null;
    nonBeadVelocityJsAfter: number | null;
    sidechainMedianRateRatio: number | null;
  };
  energy: {
    unit: 'kJ/mol';
    /** 'total' and one per OpenMM force */
    terms: string[];
    reference: Record<string, Moments>;
    backmapped: Record<string, Moments>;
    /** Wasserstein-1 of each column's distribution, kJ/mol */
    w1: Record<string, number>;
    /** the totals on a common grid */
    histogram: HistogramSet;
    /** per input file, in the order of inputs.ref / inputs.traj: frames, the total's median, and each column's moments */
    files: { reference: FileEnergy[]; backmapped: FileEnergy[] };
  };
  bonds: GeometrySection;
  angles: GeometrySection;
  chirality: {
    /** every CA with a CB: the reference's majority hand and how often each side differs from it */
    centers: {
      residue: string;
      atoms: { n: number; ca: number; c: number; cb: number };
      referenceMajority: 'L' | 'D';
      differing: { reference: number | null; backmapped: number | null };
      /** sign changes between consecutive frames */
      flips: { reference: number; backmapped: number };
    }[];
    /** over all (frame, centre) values */
    differing: { reference: number | null; backmapped: number | null };
    flips: { reference: number; backmapped: number };
  };
  clashes: {
    /** heavy-atom pairs more than 3 bonds apart closer than 0.8 × the sum of their vdW radii */
    heavyAtoms: number;
    pairs: number;
    vdwScale: number;
    reference: { frameFraction: number | null; pairFraction: number | null; minDistanceNm: number | null };
    backmapped: { frameFraction: number | null; pairFraction: number | null; minDistanceNm: number | null };
  };
  thermodynamics: {
    method: 'phi-psi' | 'tica' | 'none';
    /** why method is 'none' */
    reason?: string;
    features: string;
    tica?: { lag: number; features: number; caAtoms: number; eigenvalues: number[]; timescalesPs: (number | null)[] };
    /** the 2-D histogram grid; counts are x-major: counts[ix * y.bins + iy] */
    x?: { label: string; lo: number; hi: number; bins: number; periodic: boolean };
    y?: { label: string; lo: number; hi: number; bins: number; periodic: boolean };
    counts?: { reference: number[]; backmapped: number[] };
    outside?: { reference: number; backmapped: number };
    /** JS (nats, ≤ ln 2) of the two histograms on the same grid, frames off the grid as one extra bin */
    jensenShannon: number | null;
  };
  kinetics: {
    features: string;
    clusters: number;
    fitFrames: number;
    lags: number[];
    lagTimesPs: number[];
    reference: TimescaleCurves | null;
    backmapped: TimescaleCurves | null;
    msmLag: number;
    /** |cos| between left eigenvectors 0 (stationary), 1, 2 of the two MSMs at msmLag on their shared active states */
    eigenvectorSimilarity: (number | null)[];
    sharedStates: number;
    reason?: string;
  };
  velocities: {
    unit: 'nm/ps';
    all: SpeedSection | null;
    /** atoms that are not CG beads (null without bead atoms) */
    nonBead: SpeedSection | null;
    reason?: string;
  };
  sidechains: {
    dihedrals: number;
    maxLagFrames: number;
    items: SidechainItem[];
    medianRateRatio: number | null;
    meanAcfDifference: number | null;
    reason?: string;
  };
  /** with a model (evaluate --model): its latent space on the reference */
  latent?: LatentSection;
  /** with samples (evaluate --samples): the ensembles' spread; every other section pools the samples */
  ensemble?: EnsembleSection;
  seconds: number;
}
