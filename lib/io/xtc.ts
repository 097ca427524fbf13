// GROMACS XTC trajectories (nm). Frame headers are parsed here to find frame boundaries
// without decompressing; the compressed coordinates are decoded and encoded natively
// (native/core/codecs/xtc.cpp, bit-exact with xdrfile as GROMACS and mdtraj use it).
import { promises as fsp } from 'fs';
import type { XtcDecoded } from '../../binding';
import { fileError, invalidType, outOfRange, TcbmError } from '../core/errors';
import { defaultThreads, native } from '../core/native';
import { serialize } from '../core/queue';
import { positiveInteger, positiveNumber } from '../core/validate';
import { AtomicFile, openAtomic } from './atomic';
import { checkChunk } from './chunk';
import type { FrameChunk, TrajectoryReader, TrajectoryWriter, UnitCell, WriteOptions } from './types';

const MAGIC = 1995;
/** Bytes of a compressed frame's header, up to and including the compressed byte count. */
const HEADER_BYTES = 92;
/** Bytes before the coordinates of a frame of <= 9 atoms, which xdrfile stores as plain floats. */
const SMALL_HEADER_BYTES = 56;
/** File bytes read per I/O call when streaming or scanning. */
const READ_BLOCK = 4 << 20;
/** Largest encode batch: xtcEncode allocates frames x its per-frame upper bound at once. */
const ENCODE_BATCH_BYTES = 64 << 20;
const DEFAULT_PRECISION = 1000;

/** Worst-case compressed payload of one frame (bytes), as native/core/codecs/xtc.cpp bounds it. */
function maxPayload(atoms: number): number {
  return 13 * atoms + 8;
}

function frameBound(atoms: number): number {
  return atoms <= 9 ? SMALL_HEADER_BYTES + 12 * atoms : HEADER_BYTES + maxPayload(atoms);
}

const cosDeg = (d: number): number => (d === 90 ? 0 : Math.cos((d * Math.PI) / 180));
const sinDeg = (d: number): number => (d === 90 ? 1 : Math.sin((d * Math.PI) / 180));

/** XTC box row vectors (nm, 9 values at offset o) -> lengths (nm) and angles (degrees). */
export function boxToCell(box: ArrayLike<number>, o = 0): UnitCell {
  const len = (i: number) => Math.hypot(box[o + i], box[o + i + 1], box[o + i + 2]);
  const a = len(0);
  const b = len(3);
  const c = len(6);
  const angle = (i: number, j: number, li: number, lj: number): number => {
    if (li === 0 || lj === 0) return 90;
    const dot = box[o + i] * box[o + j] + box[o + i + 1] * box[o + j + 1] + box[o + i + 2] * box[o + j + 2];
    return (Math.acos(Math.max(-1, Math.min(1, dot / (li * lj)))) * 180) / Math.PI;
  };
  return { a, b, c, alpha: angle(3, 6, b, c), beta: angle(0, 6, a, c), gamma: angle(0, 3, a, b) };
}

/** Lengths and angles -> XTC box row vectors (a along x, b in the xy plane), written at out[o..o+8]. */
export function cellToBox(cell: UnitCell, out: Float32Array, o = 0): void {
  const { a, b, c, alpha, beta, gamma } = cell;
  if (![a, b, c, alpha, beta, gamma].every(Number.isFinite)) throw outOfRange('finite unit cell', 'cell', cell);
  out.fill(0, o, o + 9);
  if (a === 0 && b === 0 && c === 0) return;
  const cx = c * cosDeg(beta);
  const cy = (c * (cosDeg(alpha) - cosDeg(beta) * cosDeg(gamma))) / sinDeg(gamma);
  out[o] = a;
  out[o + 3] = b * cosDeg(gamma);
  out[o + 4] = b * sinDeg(gamma);
  out[o + 6] = cx;
  out[o + 7] = cy;
  out[o + 8] = Math.sqrt(Math.max(0, c * c - cx * cx - cy * cy));
}

function cellsOf(boxes: Float32Array, frames: number): UnitCell[] | undefined {
  if (boxes.every((v) => v === 0)) return undefined;
  const cells: UnitCell[] = new Array(frames);
  for (let f = 0; f < frames; f++) cells[f] = boxToCell(boxes, 9 * f);
  return cells;
}

async function readFully(fh: fsp.FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, Math.min(into.length - done, 1 << 30), position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

export interface XtcOpenOptions {
  /** expected atoms per frame (the topology's); a file with another count is refused (ERR_ATOM_COUNT) */
  atoms?: number;
  /** decoding threads; default TCBM_THREADS or every core */
  threads?: number;
}

export class XtcReader implements TrajectoryReader {
  private offsets?: Float64Array;
  private closed = false;

  private constructor(
    readonly path: string,
    readonly atoms: number,
    private readonly fh: fsp.FileHandle,
    private readonly size: number,
    private readonly expected: number | undefined,
    private readonly threads: number,
  ) {}

  /** @internal use openXtc */
  static async open(file: string, options: XtcOpenOptions = {}): Promise<XtcReader> {
    const expected = options.atoms === undefined ? undefined : positiveInteger('options.atoms', options.atoms);
    const threads = options.threads === undefined ? defaultThreads() : positiveInteger('options.threads', options.threads);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      throw fileError('ERR_FILE_NOT_FOUND', file, `cannot open (${(err as NodeJS.ErrnoException).code})`);
    }
    try {
      const size = (await fh.stat()).size;
      if (size === 0) {
        if (expected === undefined) throw fileError('ERR_TRUNCATED', file, 'empty file, no XTC frame');
        return new XtcReader(file, expected, fh, 0, expected, threads);
      }
      const head = new Uint8Array(8);
      const got = await readFully(fh, head, 0);
      const view = new DataView(head.buffer);
      if (got >= 4 && view.getInt32(0) !== MAGIC) {
        throw fileError('ERR_BAD_FORMAT', file, `bad magic number ${view.getInt32(0)}, not an XTC file`, 0);
      }
      if (got < 8) throw fileError('ERR_TRUNCATED', file, 'file ends inside the frame header', 0);
      const natoms = view.getInt32(4);
      if (natoms < 1) throw fileError('ERR_BAD_FORMAT', file, `impossible atom count ${natoms}`, 0);
      if (expected !== undefined && natoms !== expected) {
        throw fileError('ERR_ATOM_COUNT', file, `${natoms} atoms, expected ${expected}`, 0);
      }
      return new XtcReader(file, natoms, fh, size, expected, threads);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Byte length of the frame at view[p], or -1 when its header is not complete within
   * `avail` bytes. Checks the magic number and the atom counts on the way.
   */
  private frameLength(view: DataView, p: number, avail: number, frame: number): number {
    if (avail < 4) return -1;
    const magic = view.getInt32(p);
    if (magic !== MAGIC) throw fileError('ERR_BAD_FORMAT', this.path, `bad magic number ${magic}, not an XTC file`, frame);
    if (avail < 8) return -1;
    const natoms = view.getInt32(p + 4);
    if (natoms !== this.atoms) {
      const want = this.expected === undefined ? `but frame 0 has ${this.atoms}` : `expected ${this.expected}`;
      throw fileError('ERR_ATOM_COUNT', this.path, `${natoms} atoms, ${want}`, frame);
    }
    if (avail < SMALL_HEADER_BYTES) return -1;
    const lsize = view.getInt32(p + 52);
    if (lsize !== natoms) {
      throw fileError('ERR_BAD_FORMAT', this.path, `coordinate count ${lsize} differs from the header's ${natoms} atoms`, frame);
    }
    if (natoms <= 9) return SMALL_HEADER_BYTES + 12 * natoms;
    if (avail < HEADER_BYTES) return -1;
    const nbytes = view.getInt32(p + 88);
    // Each (coordinate, run) group costs >= 2 bits and yields <= 11 atoms: fewer bytes cannot hold natoms.
    if (nbytes < 0 || nbytes > maxPayload(natoms) || 44 * nbytes + 11 < natoms) {
      throw fileError('ERR_BAD_FORMAT', this.path, `compressed size ${nbytes} bytes is impossible for ${natoms} atoms`, frame);
    }
    return HEADER_BYTES + ((nbytes + 3) & ~3);
  }

  private truncated(frame: number): TcbmError {
    return fileError('ERR_TRUNCATED', this.path, 'file ends inside the frame', frame);
  }

  private checkOpen(): void {
    if (this.closed) throw fileError('ERR_INVALID_ARG_VALUE', this.path, 'reader is closed');
  }

  /** Scans the frame headers once (no decompression) and keeps the frame offsets. */
  private async index(): Promise<Float64Array> {
    if (this.offsets) return this.offsets;
    this.checkOpen();
    let offsets = new Float64Array(1024);
    let frames = 0;
    const block = new Uint8Array(Math.min(READ_BLOCK, Math.max(this.size, HEADER_BYTES)));
    const view = new DataView(block.buffer);
    let winStart = 0;
    let winLen = 0;
    let pos = 0;
    let lastSpan = 0;
    while (pos < this.size) {
      const need = Math.min(HEADER_BYTES, this.size - pos);
      if (pos < winStart || pos + need > winStart + winLen) {
        // Large frames: read just each header instead of megabytes of coordinates.
        const want = lastSpan > 65536 ? HEADER_BYTES : block.length;
        winStart = pos;
        winLen = await readFully(this.fh, block.subarray(0, Math.min(want, this.size - pos)), pos);
      }
      const span = this.frameLength(view, pos - winStart, winStart + winLen - pos, frames);
      if (span < 0 || pos + span > this.size) throw this.truncated(frames);
      if (frames + 1 >= offsets.length) {
        const grown = new Float64Array(offsets.length * 2);
        grown.set(offsets);
        offsets = grown;
      }
      offsets[frames++] = pos;
      pos += span;
      lastSpan = span;
    }
    offsets[frames] = pos;
    this.offsets = offsets.slice(0, frames + 1);
    return this.offsets;
  }

  async frameCount(): Promise<number> {
    return (await this.index()).length - 1;
  }

  async read(start: number, count: number): Promise<FrameChunk> {
    if (!Number.isSafeInteger(start) || start < 0) throw outOfRange('integer >= 0', 'start', start);
    if (!Number.isSafeInteger(count) || count < 0) throw outOfRange('integer >= 0', 'count', count);
    const offsets = await this.index();
    const total = offsets.length - 1;
    if (start + count > total) throw outOfRange(`start + count <= ${total} frames`, 'start + count', start + count);
    if (count === 0) return { atoms: this.atoms, frames: 0, coords: new Float32Array(0), start };
    const base = offsets[start];
    const bytes = new Uint8Array(offsets[start + count] - base);
    if ((await readFully(this.fh, bytes, base)) !== bytes.length) throw this.truncated(start);
    const rel = new Float64Array(count);
    for (let k = 0; k < count; k++) rel[k] = offsets[start + k] - base;
    return this.decode(bytes, rel, count, start);
  }

  async *chunks(chunkFrames = 1024): AsyncIterableIterator<FrameChunk> {
    positiveInteger('chunkFrames', chunkFrames);
    this.checkOpen();
    // buf[0, len) holds file bytes from the first frame not yet handed out; it grows only
    // when chunkFrames frames do not fit, so memory stays bounded by the chunk size.
    let buf = new Uint8Array(Math.min(READ_BLOCK, Math.max(this.size, HEADER_BYTES)));
    let view = new DataView(buf.buffer);
    let len = 0;
    let filePos = 0;
    let frame = 0;
    const offsets = new Float64Array(chunkFrames);
    for (;;) {
      let n = 0;
      let p = 0;
      while (n < chunkFrames) {
        const span = p < len ? this.frameLength(view, p, len - p, frame + n) : -1;
        if (span >= 0 && p + span <= len) {
          offsets[n++] = p;
          p += span;
          continue;
        }
        if (filePos >= this.size) {
          if (p < len) throw this.truncated(frame + n);
          break;
        }
        const need = p + (span >= 0 ? span : HEADER_BYTES);
        if (need > buf.length) {
          const grown = new Uint8Array(Math.max(need, 2 * buf.length));
          grown.set(buf.subarray(0, len));
          buf = grown;
          view = new DataView(buf.buffer);
        }
        const got = await readFully(this.fh, buf.subarray(len, Math.min(buf.length, len + this.size - filePos)), filePos);
        if (got === 0) throw this.truncated(frame + n);
        len += got;
        filePos += got;
      }
      if (n === 0) return;
      // The decode finishes (awaited) before buf is shifted or refilled.
      const chunk = await this.decode(buf.subarray(0, p), n === chunkFrames ? offsets : offsets.subarray(0, n), n, frame);
      buf.copyWithin(0, p, len);
      len -= p;
      frame += n;
      yield chunk;
    }
  }

  private async decode(bytes: Uint8Array, offsets: Float64Array, frames: number, start: number): Promise<FrameChunk> {
    let out: XtcDecoded;
    try {
      out = await serialize(() => native().xtcDecode({ bytes, offsets, frames, atoms: this.atoms, threads: this.threads }));
    } catch (err) {
      const message = (err as Error).message;
      const m = /^frame (\d+): (.*)$/.exec(message);
      if (m) throw fileError('ERR_BAD_FORMAT', this.path, m[2], start + Number(m[1]));
      throw fileError('ERR_BAD_FORMAT', this.path, message);
    }
    return {
      atoms: this.atoms,
      frames,
      coords: out.coords,
      start,
      cells: cellsOf(out.boxes, frames),
      times: out.times,
      steps: out.steps,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

export class XtcWriter implements TrajectoryWriter {
  private written = 0;
  private tail: Promise<void> = Promise.resolve();
  /** set when bytes of a frame may be missing on disk; rejected chunks before that leave the file whole */
  private failure: unknown;

  private constructor(
    private readonly file: AtomicFile,
    readonly atoms: number,
    private readonly precision: number,
    private readonly dtPs: number,
    private readonly threads: number,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /** @internal use createXtc */
  static async create(path: string, opts: WriteOptions, threads?: number): Promise<XtcWriter> {
    if (typeof opts !== 'object' || opts === null) throw invalidType('WriteOptions object', 'opts', opts);
    const atoms = positiveInteger('opts.atoms', opts.atoms);
    const precision = opts.precision === undefined ? DEFAULT_PRECISION : positiveNumber('opts.precision', opts.precision);
    const dtPs = opts.dtPs === undefined ? 1 : positiveNumber('opts.dtPs', opts.dtPs);
    const t = threads === undefined ? defaultThreads() : positiveInteger('threads', threads);
    return new XtcWriter(await openAtomic(path), atoms, precision, dtPs, t);
  }

  /** Appends frames; times are frame x dtPs and steps the frame index (chunk times are not copied). */
  write(chunk: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>): Promise<void> {
    const run = this.tail.then(() => {
      if (this.failure !== undefined) throw this.failure;
      return this.append(chunk);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async append(chunk: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>): Promise<void> {
    const { frames, coords } = checkChunk(this.path, this.atoms, this.written, chunk);
    for (let i = 0; i < coords.length; i++) {
      if (!Number.isFinite(coords[i])) {
        const atom = Math.floor(i / 3) % this.atoms;
        const frame = this.written + Math.floor(i / (3 * this.atoms));
        throw fileError('ERR_NON_FINITE', this.path, `atom ${atom} has a non-finite coordinate (${coords[i]})`, frame);
      }
    }
    const batch = Math.max(1, Math.floor(ENCODE_BATCH_BYTES / frameBound(this.atoms)));
    for (let b = 0; b < frames; b += batch) {
      const n = Math.min(batch, frames - b);
      const first = this.written;
      const times = new Float32Array(n);
      const steps = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        times[k] = (first + k) * this.dtPs;
        steps[k] = first + k;
      }
      let boxes: Float32Array | undefined;
      if (chunk.cells) {
        boxes = new Float32Array(9 * n);
        for (let k = 0; k < n; k++) cellToBox(chunk.cells[b + k], boxes, 9 * k);
      }
      const part = coords.subarray(b * this.atoms * 3, (b + n) * this.atoms * 3);
      let bytes: Uint8Array;
      try {
        const job = { coords: part, frames: n, atoms: this.atoms, precision: this.precision, boxes, times, steps };
        ({ bytes } = await serialize(() => native().xtcEncode({ ...job, threads: this.threads })));
      } catch (err) {
        const message = (err as Error).message;
        const m = /^frame (\d+): (.*)$/.exec(message);
        const code = /not finite/.test(message) ? 'ERR_NON_FINITE' : 'ERR_OUT_OF_RANGE';
        if (m) throw fileError(code, this.path, m[2], first + Number(m[1]));
        throw fileError(code, this.path, message);
      }
      try {
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await this.file.handle.write(bytes, done, bytes.length - done);
          done += bytesWritten;
        }
      } catch (err) {
        // A partial frame may be on disk: the file can only be aborted now.
        this.failure = fileError('ERR_FILE_NOT_FOUND', this.path, `write failed (${(err as NodeJS.ErrnoException).code ?? err})`);
        throw this.failure;
      }
      this.written += n;
    }
  }

  /** Frames written so far. */
  get frames(): number {
    return this.written;
  }

  /** Waits for pending writes and renames the file into place; after a failed disk write, removes it and rethrows. */
  async close(): Promise<void> {
    await this.tail;
    if (this.failure !== undefined) {
      await this.file.abort();
      throw this.failure;
    }
    await this.file.commit();
  }

  async abort(): Promise<void> {
    await this.tail;
    await this.file.abort();
  }
}

/** Opens an XTC file for reading; `atoms` (the topology's count) makes a mismatch an ERR_ATOM_COUNT error. */
export function openXtc(path: string, options: XtcOpenOptions = {}): Promise<XtcReader> {
  return XtcReader.open(path, options);
}

/** Creates an XTC writer: frames go to a temporary file renamed onto `path` by close(). */
export function createXtc(path: string, opts: WriteOptions): Promise<XtcWriter> {
  return XtcWriter.create(path, opts);
}
