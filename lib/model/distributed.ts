// Data-parallel training over processes and machines: where a rank finds its
// peers (the torchrun and Slurm conventions, explicit options first), and the
// process group it joins. The collectives are libtorch's c10d (Gloo) in native
// code; a training step uses them through the model (setGroup).
import type { NativeGroup } from '../../binding';
import { TcbmError } from '../core/errors';
import { native } from '../core/native';

export interface DistributedOptions {
  /** rank 0's host: it serves the rendezvous store */
  addr: string;
  port: number;
  rank: number;
  world: number;
  /** this process's index on its machine (torchrun's LOCAL_RANK): picks cuda:N under --device cuda */
  localRank: number;
  /** rendezvous, each collective, and a silent peer: a lost rank makes the others fail within it */
  timeoutMs: number;
}

export const DEFAULT_PORT = 29500;
export const DEFAULT_TIMEOUT_MS = 60_000;

type Env = Record<string, string | undefined>;

/**
 * The group this process belongs to: each field from `explicit` if given, else
 * torchrun's MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, else
 * Slurm's SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID (address: 127.0.0.1, port 29500).
 * Throws one line naming the variable or option that is wrong.
 */
export function distributedSettings(explicit: Partial<DistributedOptions> = {}, env: Env = process.env): DistributedOptions {
  const integer = (name: string, raw: string | undefined, min: number): number | undefined => {
    if (raw === undefined || raw === '') return undefined;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new TcbmError('ERR_INVALID_ARG_VALUE', `distributed: ${name}=${raw} is not an integer ≥ ${min}`);
    return v;
  };
  const world = explicit.world ?? integer('WORLD_SIZE', env.WORLD_SIZE, 1) ?? integer('SLURM_NTASKS', env.SLURM_NTASKS, 1);
  const rank = explicit.rank ?? integer('RANK', env.RANK, 0) ?? integer('SLURM_PROCID', env.SLURM_PROCID, 0);
  if (world === undefined) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'distributed: no world size (give --world-size, or set WORLD_SIZE or run under Slurm)');
  if (rank === undefined) throw new TcbmError('ERR_INVALID_ARG_VALUE', 'distributed: no rank (give --rank, or set RANK or run under Slurm)');
  if (rank >= world) throw new TcbmError('ERR_INVALID_ARG_VALUE', `distributed: rank ${rank} is not below the world size ${world}`);
  const port = explicit.port ?? integer('MASTER_PORT', env.MASTER_PORT, 1) ?? DEFAULT_PORT;
  if (port > 65535) throw new TcbmError('ERR_INVALID_ARG_VALUE', `distributed: port ${port} is not in 1..65535`);
  return {
    addr: explicit.addr ?? (env.MASTER_ADDR || '127.0.0.1'),
    port,
    rank,
    world,
    localRank: explicit.localRank ?? integer('LOCAL_RANK', env.LOCAL_RANK, 0) ?? integer('SLURM_LOCALID', env.SLURM_LOCALID, 0) ?? 0,
    timeoutMs: explicit.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

/** A joined c10d group: every rank makes the same calls in the same order. */
export class ProcessGroup {
  private constructor(readonly native: NativeGroup, readonly options: DistributedOptions) {}

  /** Joins (rank 0 serves the store); rejects naming the ranks that did not join within the timeout. */
  static async join(options: DistributedOptions): Promise<ProcessGroup> {
    const n = native();
    if (!n.distributed) {
      throw new TcbmError('ERR_UNSUPPORTED', 'distributed: this build of tcbackmap has no c10d/Gloo (Debian: apt-get install libgloo-dev, then npm rebuild)');
    }
    const group = new n.Group();
    await group.join({ addr: options.addr, port: options.port, rank: options.rank, world: options.world, timeoutMs: options.timeoutMs });
    return new ProcessGroup(group, options);
  }

  get rank(): number {
    return this.options.rank;
  }

  get world(): number {
    return this.options.world;
  }

  get isRoot(): boolean {
    return this.options.rank === 0;
  }

  /** Rejects on every rank when some rank's `value` differs from rank 0's. */
  agree(what: string, value: string): Promise<void> {
    return this.native.agree({ what, value });
  }

  /**
   * Rank 0 runs `work` (validation, a checkpoint, the model file) while the
   * others wait for it, however long it takes, for as long as rank 0 is alive.
   */
  async rootOnly<T>(tag: string, work: () => Promise<T>): Promise<T | undefined> {
    if (!this.isRoot) {
      await this.native.waitForRoot(tag);
      return undefined;
    }
    const result = await work();
    await this.native.release(tag);
    return result;
  }

  close(): void {
    this.native.close();
  }
}

/** The rows [first, first + count) of every global batch that one rank computes. */
export interface BatchShare {
  first: number;
  count: number;
}

/** Rank r of W takes rows [r·B/W, (r+1)·B/W) of a global batch of B; without a group, all B. */
export function batchShare(batch: number, group?: Pick<ProcessGroup, 'rank' | 'world'>): BatchShare {
  if (!group) return { first: 0, count: batch };
  const count = batch / group.world;
  return { first: group.rank * count, count };
}

/** The share's rows of each [batch, …] array in `whole` (copies; `whole` itself when it is all of them). */
export function shareOf<T extends Record<string, Float32Array | undefined>>(whole: T, batch: number, share: BatchShare): T {
  if (share.first === 0 && share.count === batch) return whole;
  const out: Record<string, Float32Array | undefined> = {};
  for (const [key, a] of Object.entries(whole)) {
    out[key] = a && a.slice((a.length / batch) * share.first, (a.length / batch) * (share.first + share.count));
  }
  return out as T;
}
