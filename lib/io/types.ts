// The shapes every trajectory codec shares. Units: nm, ps, degrees (unit-cell
// angles); Å exist only inside the PDB and DCD codecs. Atom order is the
// topology's everywhere.

export interface Atom {
  /** atom name as in the PDB, e.g. "CA", "HB1" */
  name: string;
  /** element symbol, e.g. "C", "Na"; inferred from the name when the file has none */
  element: string;
  /** residue name, e.g. "ALA" */
  resName: string;
  /** residue number as in the file */
  resSeq: number;
  /** 0-based index of the residue in file order (changes when resSeq, resName, chain or insertion code change) */
  residueIndex: number;
  /** chain identifier, "" when blank */
  chain: string;
  /** true for HETATM records */
  hetero: boolean;
}

export interface Topology {
  atoms: Atom[];
  /** bonds as 0-based atom index pairs (from CONECT or a System XML's bonds), i < j, sorted */
  bonds: [number, number][];
}

/** Box lengths in nm and angles in degrees, as DCD/PDB CRYST1 hold them. */
export interface UnitCell {
  a: number;
  b: number;
  c: number;
  alpha: number;
  beta: number;
  gamma: number;
}

/** Consecutive frames of one trajectory file. */
export interface FrameChunk {
  /** atoms per frame */
  atoms: number;
  /** number of frames in this chunk */
  frames: number;
  /** [frames, atoms, 3] nm, row-major */
  coords: Float32Array;
  /** index of the chunk's first frame within its file */
  start: number;
  /** one cell per frame, or undefined when the file has none */
  cells?: UnitCell[];
  /** simulation time (ps) per frame when the format records it (XTC) */
  times?: Float32Array;
  /** MD step per frame when the format records it (XTC) */
  steps?: Int32Array;
}

/** What a codec needs to write frames; PDB also needs the topology. */
export interface WriteOptions {
  atoms: number;
  topology?: Topology;
  /** XTC precision (1/nm); 1000 by default */
  precision?: number;
  /** ps between frames, recorded where the format has a place for it (DCD, XTC); 1 by default */
  dtPs?: number;
}

/** Reads one trajectory file. Frames are 0-based; chunks are bounded in memory. */
export interface TrajectoryReader {
  readonly path: string;
  readonly atoms: number;
  /** total frames (XTC scans frame headers once to know it) */
  frameCount(): Promise<number>;
  /** frames [start, start + count) as one chunk (random access) */
  read(start: number, count: number): Promise<FrameChunk>;
  /** all frames in order, `chunkFrames` (default 1024) at a time */
  chunks(chunkFrames?: number): AsyncIterableIterator<FrameChunk>;
  close(): Promise<void>;
}

/** Writes one trajectory file; frames go to a temporary name until close() renames it. */
export interface TrajectoryWriter {
  readonly path: string;
  /** appends chunk.frames frames of chunk.coords ([frames, atoms, 3] nm) */
  write(chunk: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>): Promise<void>;
  /** finishes the file (headers with final counts) and renames it into place */
  close(): Promise<void>;
  /** removes the temporary file; the destination is left untouched */
  abort(): Promise<void>;
}
