// CHARMM/OpenMM-flavour DCD: Fortran unformatted records with 4-byte markers,
// either endianness on read, little-endian on write (as OpenMM and mdtraj write).
// Coordinates are float32 Å in the file and float32 nm in memory.
import { promises as fsp } from 'fs';
import { fileError, invalidType, outOfRange } from '../core/errors';
import { positiveInteger, positiveNumber } from '../core/validate';
import { openAtomic, type AtomicFile } from './atomic';
import { checkChunk, checkFiniteFrames } from './chunk';
import type { FrameChunk, TrajectoryReader, TrajectoryWriter, UnitCell, WriteOptions } from './types';

/** One AKMA time unit in ps: CHARMM's DELTA is in these (OpenMM divides its step by this). */
export const AKMA_PS = 0.04888821;

// mdtraj converts Å to nm as float32(x) * float32(0.1); doing the same gives bit-identical coordinates.
const ANGSTROM_TO_NM = Math.fround(0.1);
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const CELL_RECORD = 48; // 6 float64

export interface DcdOpenOptions {
  /** expected atoms per frame (the topology's); a file that differs is an ERR_ATOM_COUNT error */
  atoms?: number;
}

/** What the DCD header says, after checking it against the file size. */
export interface DcdHeader {
  littleEndian: boolean;
  /** CHARMM-format file (icntrl[19] != 0, the version); false for X-PLOR */
  charmm: boolean;
  /** each frame starts with a unit-cell record */
  hasCell: boolean;
  /** each frame carries a fourth (W) coordinate record, skipped on read */
  has4D: boolean;
  atoms: number;
  /** NSET as written in the header (may be 0 or stale in a file being written) */
  nset: number;
  istart: number;
  nsavc: number;
  /** MD time step in AKMA units */
  delta: number;
  title: string;
  /** bytes before frame 0 */
  headerBytes: number;
  /** bytes per frame */
  frameBytes: number;
}

async function openHandle(file: string): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError('ERR_FILE_NOT_FOUND', file, code === 'ENOENT' ? 'no such file' : `cannot open (${code})`);
  }
}

/** Reads exactly `length` bytes at `position`, or fails with ERR_TRUNCATED saying what was being read. */
async function readExactly(fh: fsp.FileHandle, file: string, position: number, length: number, what: string): Promise<DataView> {
  const bytes = new Uint8Array(length);
  const { bytesRead } = await fh.read(bytes, 0, length, position);
  if (bytesRead < length) throw fileError('ERR_TRUNCATED', file, `file ends inside the ${what} (byte ${position + bytesRead})`);
  return new DataView(bytes.buffer);
}

async function readHeader(fh: fsp.FileHandle, file: string, fileSize: number): Promise<DcdHeader> {
  if (fileSize < 4) throw fileError('ERR_TRUNCATED', file, `not a DCD file: only ${fileSize} bytes`);
  const first = await readExactly(fh, file, 0, Math.min(fileSize, 92), 'header');
  const markerLE = first.getInt32(0, true);
  const markerBE = first.getInt32(0, false);
  const le = markerLE === 84 ? true : markerBE === 84 ? false : undefined;
  if (le === undefined) throw fileError('ERR_BAD_FORMAT', file, `not a DCD file: first record marker is ${markerLE} (expected 84)`);
  if (fileSize < 92) throw fileError('ERR_TRUNCATED', file, `file ends inside the header (byte ${fileSize})`);
  const magic = String.fromCharCode(first.getUint8(4), first.getUint8(5), first.getUint8(6), first.getUint8(7));
  if (magic !== 'CORD') throw fileError('ERR_BAD_FORMAT', file, `not a DCD coordinate file: magic is ${JSON.stringify(magic)} (expected "CORD")`);
  if (first.getInt32(88, le) !== 84) {
    throw fileError('ERR_BAD_FORMAT', file, `header record end marker is ${first.getInt32(88, le)} (expected 84)`);
  }
  const icntrl = (i: number) => first.getInt32(8 + 4 * i, le);
  const charmm = icntrl(19) !== 0;
  const namnf = icntrl(8);
  if (namnf !== 0) throw fileError('ERR_UNSUPPORTED', file, `fixed atoms (NAMNF = ${namnf}) are not supported`);
  // X-PLOR files hold DELTA as a float64 over icntrl[9..10]; CHARMM as a float32 in icntrl[9]
  const delta = charmm ? first.getFloat32(8 + 36, le) : first.getFloat64(8 + 36, le);
  const hasCell = charmm && icntrl(10) !== 0;
  const has4D = charmm && icntrl(11) !== 0;

  const titleMarkerView = await readExactly(fh, file, 92, 8, 'title record');
  const titleBytes = titleMarkerView.getInt32(0, le);
  const ntitle = titleMarkerView.getInt32(4, le);
  if (titleBytes < 4 || ntitle < 0 || titleBytes > fileSize) {
    throw fileError('ERR_BAD_FORMAT', file, `bad title record (length ${titleBytes}, ${ntitle} lines)`);
  }
  // from NTITLE (byte 96): the title record's data, its end marker, then the NATOM record
  const titleView = await readExactly(fh, file, 96, titleBytes + 4 + 12, 'title and atom-count records');
  const titleText = new TextDecoder('latin1').decode(new Uint8Array(titleView.buffer, 4, titleBytes - 4));
  const titleEnd = titleView.getInt32(titleBytes, le);
  if (titleEnd !== titleBytes) throw fileError('ERR_BAD_FORMAT', file, `title record end marker is ${titleEnd} (expected ${titleBytes})`);
  const natomStart = titleBytes + 4;
  const m1 = titleView.getInt32(natomStart, le);
  const atoms = titleView.getInt32(natomStart + 4, le);
  const m2 = titleView.getInt32(natomStart + 8, le);
  if (m1 !== 4 || m2 !== 4) throw fileError('ERR_BAD_FORMAT', file, `atom-count record markers are ${m1}, ${m2} (expected 4, 4)`);
  if (atoms <= 0) throw fileError('ERR_BAD_FORMAT', file, `header says ${atoms} atoms`);

  const coordRecord = 8 + 4 * atoms;
  return {
    littleEndian: le,
    charmm,
    hasCell,
    has4D,
    atoms,
    nset: icntrl(0),
    istart: icntrl(1),
    nsavc: icntrl(2),
    delta,
    title: titleText.replace(/[\0\s]+$/g, '').replace(/\0+/g, ' '),
    headerBytes: 92 + 8 + titleBytes + 12,
    frameBytes: (hasCell ? CELL_RECORD + 8 : 0) + (has4D ? 4 : 3) * coordRecord,
  };
}

/** 90° - asin(cos): CHARMM/NAMD/OpenMM store cosines; this keeps 90° exact (as VMD and mdtraj do). */
function angleFromDcd(value: number, cosines: boolean): number {
  return cosines ? 90 - (Math.asin(value) * 180) / Math.PI : value;
}

export class DcdReader implements TrajectoryReader {
  private closed = false;
  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    readonly header: DcdHeader,
    private readonly wholeFrames: number,
    /** bytes after the last whole frame: the start of a frame that is cut short */
    private readonly partialBytes: number,
  ) {}

  static async open(file: string, options: DcdOpenOptions = {}): Promise<DcdReader> {
    if (options.atoms !== undefined) positiveInteger('options.atoms', options.atoms);
    const fh = await openHandle(file);
    try {
      const size = (await fh.stat()).size;
      const header = await readHeader(fh, file, size);
      if (options.atoms !== undefined && options.atoms !== header.atoms) {
        throw fileError('ERR_ATOM_COUNT', file, `has ${header.atoms} atoms, topology has ${options.atoms}`);
      }
      const body = size - header.headerBytes;
      const whole = Math.floor(body / header.frameBytes);
      const reader = new DcdReader(file, fh, header, whole, body % header.frameBytes);
      // the first frame's record markers catch a header whose flags do not match the frames
      if (whole > 0) await reader.read(0, 1);
      return reader;
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  get atoms(): number {
    return this.header.atoms;
  }

  /** ps between saved frames (NSAVC × DELTA), or undefined when the header does not say. */
  get dtPs(): number | undefined {
    const dt = this.header.nsavc * this.header.delta * AKMA_PS;
    return Number.isFinite(dt) && dt > 0 ? dt : undefined;
  }

  /**
   * Frames in the file (from its size: NSET is not trusted). A file that ends
   * inside a frame is refused here, not only when that frame is read: whoever
   * sizes work by the count would otherwise drop the cut frame silently.
   */
  async frameCount(): Promise<number> {
    if (this.partialBytes > 0) throw this.truncated();
    return this.wholeFrames;
  }

  async read(start: number, count: number): Promise<FrameChunk> {
    this.checkOpen();
    if (!Number.isSafeInteger(start) || start < 0) throw outOfRange('integer >= 0', 'start', start);
    if (!Number.isSafeInteger(count) || count < 0) throw outOfRange('integer >= 0', 'count', count);
    const end = start + count;
    if (end > this.wholeFrames) {
      if (this.partialBytes > 0 && end === this.wholeFrames + 1) throw this.truncated();
      throw outOfRange(`start + count <= ${this.wholeFrames} (frames in ${this.path})`, 'start + count', end);
    }
    return this.decode(start, count, new Uint8Array(count * this.header.frameBytes));
  }

  async *chunks(chunkFrames = 1024): AsyncIterableIterator<FrameChunk> {
    positiveInteger('chunkFrames', chunkFrames);
    this.checkOpen();
    // one bounded buffer reused by every chunk; only the decoded coordinates are new per chunk
    const buffer = new Uint8Array(Math.min(chunkFrames, Math.max(1, this.wholeFrames)) * this.header.frameBytes);
    for (let start = 0; start < this.wholeFrames; start += chunkFrames) {
      yield await this.decode(start, Math.min(chunkFrames, this.wholeFrames - start), buffer);
    }
    if (this.partialBytes > 0) throw this.truncated();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private checkOpen(): void {
    if (this.closed) throw fileError('ERR_INVALID_ARG_VALUE', this.path, 'reader is closed');
  }

  /**
   * Frames [start, start + count) as the file stores them (Å, little-endian
   * records, checked by read()): what DcdWriter.writeRecords appends unchanged,
   * so joining DCD files never rounds a coordinate through nm.
   */
  async readRecords(start: number, count: number): Promise<Uint8Array> {
    this.checkOpen();
    if (!this.header.littleEndian || this.header.has4D) throw fileError('ERR_UNSUPPORTED', this.path, 'only little-endian 3-D DCD records are copied as they are');
    await this.read(start, count); // bounds, truncation and record markers
    const bytes = new Uint8Array(count * this.header.frameBytes);
    await this.fh.read(bytes, 0, bytes.length, this.header.headerBytes + start * this.header.frameBytes);
    return bytes;
  }

  private truncated() {
    const problem = `file ends inside this frame (${this.partialBytes} of ${this.header.frameBytes} bytes present)`;
    return fileError('ERR_TRUNCATED', this.path, problem, this.wholeFrames);
  }

  /** Reads frames [start, start + count) into `buffer` and decodes them. */
  private async decode(start: number, count: number, buffer: Uint8Array): Promise<FrameChunk> {
    const { atoms, frameBytes, headerBytes, hasCell, littleEndian } = this.header;
    const bytes = count * frameBytes;
    const { bytesRead } = await this.fh.read(buffer, 0, bytes, headerBytes + start * frameBytes);
    if (bytesRead < bytes) {
      // the file shrank after open
      throw fileError('ERR_TRUNCATED', this.path, 'file ends inside this frame', start + Math.floor(bytesRead / frameBytes));
    }
    const view = new DataView(buffer.buffer, buffer.byteOffset, bytes);
    const coords = new Float32Array(count * atoms * 3);
    const cells: UnitCell[] | undefined = hasCell ? new Array(count) : undefined;
    const recordBytes = 4 * atoms;
    // same byte order as the host: read float32 straight from the buffer (frame offsets are multiples of 4)
    const f32 = littleEndian === HOST_LITTLE_ENDIAN && buffer.byteOffset % 4 === 0 ? new Float32Array(buffer.buffer, buffer.byteOffset, bytes >> 2) : undefined;
    for (let f = 0; f < count; f++) {
      let p = f * frameBytes;
      if (cells) {
        this.marker(view, p, CELL_RECORD, start + f, 'unit-cell');
        this.marker(view, p + 4 + CELL_RECORD, CELL_RECORD, start + f, 'unit-cell');
        const v = (i: number) => view.getFloat64(p + 4 + 8 * i, littleEndian);
        const [a, gamma, b, beta, alpha, c] = [v(0), v(1), v(2), v(3), v(4), v(5)];
        const cosines = Math.abs(gamma) <= 1 && Math.abs(beta) <= 1 && Math.abs(alpha) <= 1;
        cells[f] = {
          a: a / 10,
          b: b / 10,
          c: c / 10,
          alpha: angleFromDcd(alpha, cosines),
          beta: angleFromDcd(beta, cosines),
          gamma: angleFromDcd(gamma, cosines),
        };
        p += CELL_RECORD + 8;
      }
      const out = f * atoms * 3;
      for (let axis = 0; axis < 3; axis++, p += recordBytes + 8) {
        this.marker(view, p, recordBytes, start + f, 'XYZ'[axis]);
        this.marker(view, p + 4 + recordBytes, recordBytes, start + f, 'XYZ'[axis]);
        if (f32) {
          const from = (p + 4) >> 2;
          for (let i = 0; i < atoms; i++) coords[out + 3 * i + axis] = f32[from + i] * ANGSTROM_TO_NM;
        } else {
          for (let i = 0; i < atoms; i++) coords[out + 3 * i + axis] = view.getFloat32(p + 4 + 4 * i, littleEndian) * ANGSTROM_TO_NM;
        }
      }
    }
    checkFiniteFrames(this.path, coords, atoms, start);
    return { atoms, frames: count, coords, start, cells };
  }

  private marker(view: DataView, at: number, expected: number, frame: number, record: string): void {
    const got = view.getInt32(at, this.header.littleEndian);
    if (got !== expected) {
      throw fileError('ERR_BAD_FORMAT', this.path, `${record} record marker is ${got} (expected ${expected})`, frame);
    }
  }
}

export function openDcd(file: string, options: DcdOpenOptions = {}): Promise<DcdReader> {
  return DcdReader.open(file, options);
}

const TITLE = 'Created by tcbackmap';

/** The OpenMM/mdtraj header: CORD, CHARMM version 24, one 80-character title line, little-endian. */
function encodeHeader(atoms: number, frames: number, hasCell: boolean, delta: number): Uint8Array {
  const bytes = new Uint8Array(92 + 8 + 84 + 12);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 84, true);
  bytes.set([0x43, 0x4f, 0x52, 0x44], 4); // "CORD"
  const icntrl = (i: number, value: number) => v.setInt32(8 + 4 * i, value, true);
  icntrl(0, frames); // NSET
  icntrl(1, 0); // ISTART
  icntrl(2, 1); // NSAVC: every step is a frame, so DELTA is the time between frames
  icntrl(3, frames); // NSTEP
  v.setFloat32(8 + 36, delta, true);
  icntrl(10, hasCell ? 1 : 0);
  icntrl(19, 24); // CHARMM version: marks the CHARMM layout (float32 DELTA, unit-cell flag)
  v.setInt32(88, 84, true);
  v.setInt32(92, 84, true);
  v.setInt32(96, 1, true);
  bytes.fill(0x20, 100, 180);
  for (let i = 0; i < TITLE.length; i++) bytes[100 + i] = TITLE.charCodeAt(i);
  v.setInt32(180, 84, true);
  v.setInt32(184, 4, true);
  v.setInt32(188, atoms, true);
  v.setInt32(192, 4, true);
  return bytes;
}

export class DcdWriter implements TrajectoryWriter {
  private frames = 0;
  private position = 0;
  private hasCell: boolean | undefined;
  private finished = false;
  /** the header still to be written with the first frames */
  private header: Uint8Array | undefined;

  private constructor(
    private readonly file: AtomicFile,
    readonly atoms: number,
    /** DELTA in AKMA units */
    private readonly delta: number,
  ) {}

  static async create(file: string, options: WriteOptions): Promise<DcdWriter> {
    if (typeof options !== 'object' || options === null) throw invalidType('WriteOptions object', 'options', options);
    const atoms = positiveInteger('options.atoms', options.atoms);
    const dtPs = options.dtPs === undefined ? 1 : positiveNumber('options.dtPs', options.dtPs);
    return new DcdWriter(await openAtomic(file), atoms, dtPs / AKMA_PS);
  }

  get path(): string {
    return this.file.path;
  }

  /** Frames written so far. */
  get framesWritten(): number {
    return this.frames;
  }

  async write(chunk: Pick<FrameChunk, 'coords' | 'frames' | 'cells'>): Promise<void> {
    if (this.finished) throw fileError('ERR_INVALID_ARG_VALUE', this.path, 'writer is closed');
    const atoms = this.atoms;
    const { frames, coords, cells } = checkChunk(this.path, atoms, this.frames, chunk);
    if (frames === 0) return;
    this.decideCells(cells !== undefined);
    for (let i = 0; i < coords.length; i++) {
      if (!Number.isFinite(coords[i])) {
        const atom = Math.floor(i / 3) % atoms;
        const frame = this.frames + Math.floor(i / (3 * atoms));
        throw fileError('ERR_NON_FINITE', this.path, `coordinate ${'xyz'[i % 3]} of atom ${atom} is ${coords[i]}`, frame);
      }
    }
    if (cells) {
      cells.forEach((c, f) => {
        for (const k of ['a', 'b', 'c', 'alpha', 'beta', 'gamma'] as const) {
          if (!Number.isFinite(c?.[k])) throw fileError('ERR_NON_FINITE', this.path, `unit cell ${k} is ${c?.[k]}`, this.frames + f);
        }
      });
    }

    const recordBytes = 4 * atoms;
    const frameBytes = (this.hasCell ? CELL_RECORD + 8 : 0) + 3 * (recordBytes + 8);
    const bytes = new Uint8Array(frames * frameBytes);
    const view = new DataView(bytes.buffer);
    const f32 = HOST_LITTLE_ENDIAN ? new Float32Array(bytes.buffer) : undefined;
    const toCos = (deg: number) => Math.sin((Math.PI / 180) * (90 - deg)); // exact 0 at 90°, as OpenMM and VMD write
    for (let f = 0; f < frames; f++) {
      let p = f * frameBytes;
      if (cells) {
        const c = cells[f];
        view.setInt32(p, CELL_RECORD, true);
        [c.a * 10, toCos(c.gamma), c.b * 10, toCos(c.beta), toCos(c.alpha), c.c * 10].forEach((x, i) => view.setFloat64(p + 4 + 8 * i, x, true));
        view.setInt32(p + 4 + CELL_RECORD, CELL_RECORD, true);
        p += CELL_RECORD + 8;
      }
      const from = f * atoms * 3;
      for (let axis = 0; axis < 3; axis++, p += recordBytes + 8) {
        view.setInt32(p, recordBytes, true);
        view.setInt32(p + 4 + recordBytes, recordBytes, true);
        if (f32) {
          const to = (p + 4) >> 2;
          for (let i = 0; i < atoms; i++) f32[to + i] = coords[from + 3 * i + axis] * 10;
        } else {
          for (let i = 0; i < atoms; i++) view.setFloat32(p + 4 + 4 * i, coords[from + 3 * i + axis] * 10, true);
        }
      }
    }
    await this.append(bytes, frames);
  }

  /** Appends `frames` frames of another DCD's records as they are (DcdReader.readRecords): no rounding through nm. */
  async writeRecords(bytes: Uint8Array, frames: number, hasCell: boolean): Promise<void> {
    if (this.finished) throw fileError('ERR_INVALID_ARG_VALUE', this.path, 'writer is closed');
    const frameBytes = (hasCell ? CELL_RECORD + 8 : 0) + 3 * (4 * this.atoms + 8);
    if (bytes.length !== frames * frameBytes) throw fileError('ERR_BAD_FORMAT', this.path, `${bytes.length} bytes are not ${frames} frames of ${this.atoms} atoms`);
    if (frames === 0) return;
    this.decideCells(hasCell);
    await this.append(bytes, frames);
  }

  /** The unit-cell flag is in the header, so the first frames decide it for the whole file; later ones must agree. */
  private decideCells(hasCell: boolean): void {
    if (this.hasCell === undefined) {
      this.hasCell = hasCell;
      this.header = encodeHeader(this.atoms, 0, hasCell, this.delta);
      this.position = this.header.length;
    } else if (this.hasCell !== hasCell) {
      throw fileError(
        'ERR_INVALID_ARG_VALUE',
        this.path,
        this.hasCell ? 'this chunk has no unit cells but earlier frames had them' : 'this chunk has unit cells but earlier frames had none',
        this.frames,
      );
    }
  }

  /** Writes encoded frames after the last ones (and the header with the first). */
  private async append(bytes: Uint8Array, frames: number): Promise<void> {
    // claim the byte range and frame numbers before awaiting, so overlapping write() calls stay in order
    const at = this.position;
    this.position += bytes.length;
    this.frames += frames;
    const header = this.header;
    this.header = undefined;
    if (header) await this.file.handle.write(header, 0, header.length, 0);
    await this.file.handle.write(bytes, 0, bytes.length, at);
  }

  /** Writes the final frame count into the header and renames the file into place. */
  async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const header = encodeHeader(this.atoms, this.frames, this.hasCell ?? false, this.delta);
    await this.file.finish(() => this.file.handle.write(header, 0, header.length, 0));
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.file.abort();
  }
}

export function createDcd(file: string, options: WriteOptions): Promise<DcdWriter> {
  return DcdWriter.create(file, options);
}
