// Sharded backmapping: shard i of n is segment i of an n-segment run (the same
// frames, seed frame and latent stream), computed alone, so a scheduler can
// spread one long CG trajectory over machines. Each shard's output gets a
// manifest beside it; concat() checks the manifests (same run, every shard
// once, consecutive, complete) and joins the outputs in order, atomically.
import { createHash } from 'crypto';
import { createReadStream, promises as fsp } from 'fs';
import * as path from 'path';
import { TcbmError, fileError } from '../core/errors';
import { packageVersion } from '../core/native';
import { openAtomic, checkOutput } from '../io/atomic';
import { createTrajectory, openTrajectory } from '../io/trajectory';
import { DcdReader, DcdWriter } from '../io/dcd';
import type { TrajectoryReader, TrajectoryWriter } from '../io/types';
import { readerView } from '../io/view';

/** Shard `index` (0-based) of `count` contiguous pieces of a CG trajectory. */
export interface Shard {
  index: number;
  count: number;
}

/** Frames [first, first + frames) of `total`: where k of n pieces starts, as --segments splits. */
export function shardRange(shard: Shard, total: number): { first: number; frames: number } {
  const start = (k: number) => Math.floor((k * total) / shard.count);
  return { first: start(shard.index), frames: start(shard.index + 1) - start(shard.index) };
}

/** "i/n" (0 ≤ i < n) as a Shard; undefined when malformed. */
export function parseShard(text: string): Shard | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return Number.isSafeInteger(count) && count >= 1 && index < count ? { index, count } : undefined;
}

/** Frames [first, first + frames) of `reader`, numbered from 0 (a shard's view of the whole trajectory). */
export function windowOf(reader: TrajectoryReader, first: number, frames: number): TrajectoryReader {
  return readerView(reader, async () => frames, async (start, count) => {
    if (start < 0 || start + count > frames) throw new TcbmError('ERR_OUT_OF_RANGE', `${reader.path}: frames ${start}..${start + count} are outside the shard's ${frames}`);
    return reader.read(first + start, count);
  });
}

/** What the manifest beside each shard's output records. */
export interface ShardManifest {
  kind: 'tcbackmap-shard';
  tcbackmap: string;
  index: number;
  count: number;
  /** the shard's first frame in the whole trajectory, its frame count, and the whole's */
  first: number;
  frames: number;
  total: number;
  atoms: number;
  /** what makes shards parts of one run: the model's and CG file's SHA-256, and every option that changes the output */
  run: Record<string, unknown>;
}

export function manifestFile(out: string): string {
  return `${out}.shard.json`;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `out`'s manifest atomically (after the trajectory itself is in place). */
export async function writeManifest(out: string, m: Omit<ShardManifest, 'kind' | 'tcbackmap'>): Promise<string> {
  const file = manifestFile(out);
  const f = await openAtomic(file);
  await f.finish(() => f.handle.writeFile(JSON.stringify({ kind: 'tcbackmap-shard', tcbackmap: packageVersion(), ...m }, null, 1) + '\n', 'utf8'));
  return file;
}

async function readManifest(part: string): Promise<ShardManifest> {
  const file = manifestFile(part);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    throw fileError('ERR_FILE_NOT_FOUND', part, `has no shard manifest ${path.basename(file)} beside it (write shards with backmap --shard i/n)`);
  }
  let m: ShardManifest;
  try {
    m = JSON.parse(text) as ShardManifest;
  } catch {
    throw fileError('ERR_BAD_FORMAT', file, 'is not JSON');
  }
  const whole = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (m.kind !== 'tcbackmap-shard' || ![m.index, m.count, m.first, m.frames, m.total, m.atoms].every(whole) || typeof m.run !== 'object') {
    throw fileError('ERR_BAD_FORMAT', file, 'is not a tcbackmap shard manifest');
  }
  return m;
}

export interface ConcatOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  chunkFrames?: number;
}

export interface ConcatSummary {
  out: string;
  shards: number;
  frames: number;
  atoms: number;
}

/**
 * Joins the outputs of backmap --shard 0/n … (n−1)/n (given in any order) into
 * `out`, in shard order, atomically. Refuses, naming the file, shards of
 * different runs, a shard missing or given twice, a gap or overlap, and a part
 * whose frame count is not its manifest's (a shard still being written).
 */
export async function concatShards(parts: string[], out: string, options: ConcatOptions = {}): Promise<ConcatSummary> {
  if (parts.length === 0) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'concat: give the shards\' outputs');
  checkOutput(out, Object.fromEntries(parts.map((p) => [p, 'a shard (input)'])));
  if (!/\.(dcd|xtc)$/i.test(out)) throw fileError('ERR_UNKNOWN_FORMAT', out, 'concat writes .dcd or .xtc');
  const manifests = await Promise.all(parts.map(readManifest));
  const first = manifests[0];
  const run = JSON.stringify(first.run);
  manifests.forEach((m, i) => {
    const same = m.count === first.count && m.total === first.total && m.atoms === first.atoms && JSON.stringify(m.run) === run;
    if (!same) throw fileError('ERR_INVALID_ARG_VALUE', parts[i], `is shard ${m.index}/${m.count} of another run than ${parts[0]} (model, CG input, seed or options differ)`);
  });
  const byIndex: (number | undefined)[] = Array.from({ length: first.count });
  manifests.forEach((m, i) => {
    const seen = byIndex[m.index];
    if (seen !== undefined) throw fileError('ERR_INVALID_ARG_VALUE', parts[i], `is shard ${m.index}/${m.count}, given twice (also ${parts[seen]})`);
    byIndex[m.index] = i;
  });
  const missing = byIndex.map((v, k) => (v === undefined ? k : -1)).filter((k) => k >= 0);
  if (missing.length > 0) {
    throw new TcbmError('ERR_INVALID_ARG_VALUE', `concat: shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${first.count}`).join(', ')} of ${parts[0]}'s run missing`);
  }
  const order = byIndex as number[];
  let next = 0;
  for (const i of order) {
    const m = manifests[i];
    const want = shardRange(m, m.total);
    if (m.first !== next || m.first !== want.first || m.frames !== want.frames) {
      throw fileError('ERR_BAD_FORMAT', parts[i], `covers frames ${m.first}..${m.first + m.frames - 1}, shard ${m.index}/${m.count} of ${m.total} frames is ${want.first}..${want.first + want.frames - 1}`);
    }
    next += m.frames;
  }
  if (next !== first.total) throw new TcbmError('ERR_BAD_FORMAT', `concat: the shards cover ${next} of ${first.total} frames`);

  const readers: TrajectoryReader[] = [];
  let writer: TrajectoryWriter | undefined;
  try {
    for (const i of order) {
      const reader = await openTrajectory(parts[i], { atoms: first.atoms });
      readers.push(reader);
      const frames = await reader.frameCount();
      if (frames !== manifests[i].frames) {
        throw fileError('ERR_TRUNCATED', parts[i], `has ${frames} frames, its manifest says ${manifests[i].frames} (not finished, or replaced?)`);
      }
    }
    writer = await createTrajectory(out, { atoms: first.atoms });
    let done = 0;
    const chunk = options.chunkFrames ?? 1024;
    for (const [k, reader] of readers.entries()) {
      const frames = manifests[order[k]].frames; // each file's count was checked against it above
      for (let start = 0; start < frames; start += chunk) {
        if (options.signal?.aborted) throw new TcbmError('ERR_CANCELLED', 'concat: cancelled');
        const count = Math.min(chunk, frames - start);
        // DCD into DCD: the records as they are (decoding to nm and back would round the last bit)
        if (writer instanceof DcdWriter && reader instanceof DcdReader && reader.header.littleEndian && !reader.header.has4D) {
          await writer.writeRecords(await reader.readRecords(start, count), count, reader.header.hasCell);
        } else {
          await writer.write(await reader.read(start, count));
        }
        done += count;
        options.onProgress?.(done, first.total);
      }
    }
    await writer.close();
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await Promise.all(readers.map((r) => r.close().catch(() => undefined)));
  }
  return { out, shards: first.count, frames: first.total, atoms: first.atoms };
}
