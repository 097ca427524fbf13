// One streaming interface for every trajectory format, chosen by extension, and
// sets of files that stay separate trajectories (pairs never cross a file).
import { promises as fsp } from 'fs';
import * as path from 'path';
import { TcbmError, fileError } from '../core/errors';
import { createDcd, openDcd } from './dcd';
import { createPdb, openPdb } from './pdb';
import type { FrameChunk, TrajectoryReader, TrajectoryWriter, WriteOptions } from './types';
import { createXtc, openXtc } from './xtc';

export type TrajectoryFormat = 'dcd' | 'xtc' | 'pdb';
export const TRAJECTORY_FORMATS: readonly TrajectoryFormat[] = ['dcd', 'xtc', 'pdb'];

export function formatOf(file: string): TrajectoryFormat {
  const ext = path.extname(file).slice(1).toLowerCase();
  if ((TRAJECTORY_FORMATS as readonly string[]).includes(ext)) return ext as TrajectoryFormat;
  throw fileError('ERR_UNKNOWN_FORMAT', file, `unknown trajectory format "${ext || '(no extension)'}" (expected .dcd, .xtc or .pdb)`);
}

export interface OpenOptions {
  /** expected atoms per frame (the topology's); a file that differs is an ERR_ATOM_COUNT error */
  atoms?: number;
}

/**
 * A reader for `file`'s format. A file without a single frame is refused here:
 * no command has anything to do with one, and each would otherwise fail later
 * with a message about its own internals (or succeed with an empty output).
 */
export async function openTrajectory(file: string, options: OpenOptions = {}): Promise<TrajectoryReader> {
  const format = formatOf(file);
  const stat = await fsp.stat(file).catch(() => null);
  if (!stat) throw fileError('ERR_FILE_NOT_FOUND', file, 'no such file');
  if (stat.isDirectory()) throw fileError('ERR_FILE_NOT_FOUND', file, 'is a folder, not a trajectory file');
  if (!stat.isFile()) throw fileError('ERR_FILE_NOT_FOUND', file, 'is not a regular file');
  const reader = await (format === 'dcd' ? openDcd(file, options) : format === 'xtc' ? openXtc(file, options) : openPdb(file, options));
  try {
    if ((await reader.frameCount()) === 0) throw fileError('ERR_BAD_FORMAT', file, 'has no frames');
  } catch (err) {
    await reader.close().catch(() => undefined);
    throw err;
  }
  return reader;
}

/** A writer for `file`'s format; frames go to a temporary name until close(). */
export async function createTrajectory(file: string, options: WriteOptions): Promise<TrajectoryWriter> {
  switch (formatOf(file)) {
    case 'dcd':
      return createDcd(file, options);
    case 'xtc':
      return createXtc(file, options);
    case 'pdb':
      if (!options.topology) throw new TcbmError('ERR_INVALID_ARG_VALUE', `${file}: writing PDB needs the topology (--top)`);
      return createPdb(file, options);
  }
}

export interface CopyOptions {
  /** maps each chunk before it is written (e.g. atoms to CG beads) */
  transform?: (chunk: FrameChunk) => Pick<FrameChunk, 'coords' | 'frames' | 'cells'>;
  chunkFrames?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** the command named in a cancellation error */
  what?: string;
}

/**
 * Streams every frame of `reader` into `writer` and closes the writer; on any
 * error or cancellation the writer is aborted, so no partial output remains.
 * Returns the number of frames written.
 */
export async function copyFrames(reader: TrajectoryReader, writer: TrajectoryWriter, o: CopyOptions = {}): Promise<number> {
  let done = 0;
  try {
    const total = await reader.frameCount();
    for await (const chunk of reader.chunks(o.chunkFrames)) {
      if (o.signal?.aborted) throw new TcbmError('ERR_CANCELLED', `${o.what ?? 'copy'}: cancelled`);
      await writer.write(o.transform ? o.transform(chunk) : chunk);
      done += chunk.frames;
      o.onProgress?.(done, total);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return done;
}

/** Every frame of a (small) file as one chunk. */
export async function readTrajectory(file: string, options: OpenOptions = {}): Promise<FrameChunk> {
  const reader = await openTrajectory(file, options);
  try {
    return await reader.read(0, await reader.frameCount());
  } finally {
    await reader.close();
  }
}

/** A chunk tagged with the file (trajectory) it came from. */
export interface SetChunk extends FrameChunk {
  /** index of the file in the set */
  trajectory: number;
  path: string;
}

/**
 * Several files read as separate trajectories with one atom count. Consumers
 * that pair consecutive frames use `trajectory` to never pair across files.
 */
export class TrajectorySet {
  private constructor(
    readonly readers: TrajectoryReader[],
    readonly frameCounts: number[],
  ) {}

  static async open(files: string[], options: OpenOptions = {}): Promise<TrajectorySet> {
    if (files.length === 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'no trajectory files given');
    const readers: TrajectoryReader[] = [];
    try {
      for (const f of files) {
        const r = await openTrajectory(f, { atoms: options.atoms ?? readers[0]?.atoms });
        readers.push(r);
      }
      const counts = await Promise.all(readers.map((r) => r.frameCount()));
      return new TrajectorySet(readers, counts);
    } catch (err) {
      await Promise.all(readers.map((r) => r.close().catch(() => undefined)));
      throw err;
    }
  }

  get atoms(): number {
    return this.readers[0].atoms;
  }

  get totalFrames(): number {
    return this.frameCounts.reduce((a, b) => a + b, 0);
  }

  /** Every frame of every file, in file order then frame order. */
  async *chunks(chunkFrames = 1024): AsyncIterableIterator<SetChunk> {
    for (let t = 0; t < this.readers.length; t++) {
      for await (const chunk of this.readers[t].chunks(chunkFrames)) {
        yield { ...chunk, trajectory: t, path: this.readers[t].path };
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }
}
