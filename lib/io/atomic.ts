// Outputs are written to a temporary name beside the destination and renamed
// when complete, so a failed or interrupted run never leaves a half-written file;
// and an output is checked before any work starts, so it can never replace an input.
import { promises as fsp, readdirSync, rmSync, statSync, realpathSync } from 'fs';
import * as path from 'path';
import { fileError } from '../core/errors';
import { nativeIfLoaded } from '../core/native';

export interface AtomicFile {
  /** the final path */
  readonly path: string;
  /** where bytes go until commit() */
  readonly tempPath: string;
  readonly handle: fsp.FileHandle;
  /** closes the handle and renames the temporary file onto the final path */
  commit(): Promise<void>;
  /** closes the handle and removes the temporary file */
  abort(): Promise<void>;
  /** runs the last writes, then commits; if anything fails, aborts and rethrows */
  finish(last?: () => Promise<unknown>): Promise<void>;
}

// ------------------------------------------------------------------ temporaries

/** Temporary files and folders of this thread not yet committed or removed. */
const live = new Set<string>();
let exitHook = false;

/**
 * Registers a temporary path: removed at process exit if still there, and by the
 * addon when this thread's environment is torn down (a terminated Worker).
 */
export function trackTemp(p: string): void {
  live.add(p);
  nativeIfLoaded()?.trackTemp(p, true);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', removeLiveTemps);
  }
}

export function untrackTemp(p: string): void {
  live.delete(p);
  nativeIfLoaded()?.trackTemp(p, false);
}

/** Removes every temporary this thread still has (synchronously: for exit and signal handlers). */
export function removeLiveTemps(): void {
  for (const p of live) rmSync(p, { recursive: true, force: true });
  live.clear();
}

/** `.NAME.PID.RANDOM.tmp`: the temporary of output NAME written by process PID. */
export function tempName(file: string): string {
  return path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}

/** `.tcbm-segments-PID-…`: a scratch folder's prefix, with the PID that makes it sweepable. */
export function scratchPrefix(dir: string): string {
  return path.join(dir, `.tcbm-segments-${process.pid}-`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temporaries in `dir` left by processes that are gone (killed, crashed): removed,
 * each with a warning. Those of other live processes are only reported.
 */
export function sweepStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\..+\.(\d+)\.[a-z0-9]+\.tmp$/.exec(name) ?? /^\.tcbm-segments-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const p = path.join(dir, name);
    if (pid === process.pid || live.has(p)) continue;
    if (alive(pid)) {
      process.emitWarning(`${p}: a temporary file of process ${pid}, which is still running`, 'TcbmTempWarning');
    } else {
      rmSync(p, { recursive: true, force: true });
      process.emitWarning(`removed ${p}, left by process ${pid}, which ended before it finished`, 'TcbmTempWarning');
    }
  }
}

// ------------------------------------------------------------------ outputs

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    try {
      return realpathSync(path.dirname(path.resolve(a))) === realpathSync(path.dirname(path.resolve(b))) && path.basename(a) === path.basename(b);
    } catch {
      return false;
    }
  }
}

/**
 * Refuses, before any work, an output that is a folder, sits in a folder that
 * does not exist, or is one of the inputs (which writing would destroy).
 * `inputs` maps each input path to the option it came from, for the message.
 */
export function checkOutput(out: string, inputs: Record<string, string | undefined> | string[] = []): void {
  let stat;
  try {
    stat = statSync(out);
  } catch {
    stat = undefined;
  }
  if (stat?.isDirectory()) throw fileError('ERR_INVALID_ARG_VALUE', out, 'is a folder; give a file name for the output');
  if (stat && !stat.isFile()) throw fileError('ERR_INVALID_ARG_VALUE', out, 'is not a regular file (a device, pipe or socket): outputs are written to a new file and renamed onto it');
  const dir = path.dirname(path.resolve(out));
  let dirStat;
  try {
    dirStat = statSync(dir);
  } catch {
    dirStat = undefined;
  }
  if (!dirStat?.isDirectory()) throw fileError('ERR_FILE_NOT_FOUND', out, `cannot write here: the folder ${dir} does not exist`);
  const entries = Array.isArray(inputs) ? inputs.map((p) => [p, 'an input'] as const) : Object.entries(inputs).map(([k, v]) => [k, v ?? 'an input'] as const);
  for (const [input, what] of entries) {
    if (sameFile(out, input)) throw fileError('ERR_INVALID_ARG_VALUE', out, `is also ${what}; writing it would destroy that input: choose another output path`);
  }
}

export async function openAtomic(file: string): Promise<AtomicFile> {
  checkOutput(file);
  sweepStaleTemps(path.dirname(path.resolve(file)));
  const tempPath = tempName(file);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(tempPath, 'w');
  } catch (err) {
    throw fileError('ERR_FILE_NOT_FOUND', file, `cannot write here (${(err as NodeJS.ErrnoException).code})`);
  }
  trackTemp(tempPath);
  // Write errors (no space left, a quota) name the output, not a bare errno.
  const raw = handle;
  handle = new Proxy(raw, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop !== 'write' && prop !== 'writeFile') return value.bind(target);
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          throw fileError('ERR_WRITE', file, `cannot write (${e.code === 'ENOSPC' ? 'no space left on the device' : e.code ?? e.message})`);
        }
      };
    },
  });
  let done = false;
  const commit = async () => {
    if (done) return;
    done = true;
    await handle.close();
    await fsp.rename(tempPath, file);
    untrackTemp(tempPath);
  };
  const abort = async () => {
    if (done) return;
    done = true;
    await handle.close().catch(() => undefined);
    await fsp.rm(tempPath, { force: true });
    untrackTemp(tempPath);
  };
  const finish = async (last?: () => Promise<unknown>) => {
    try {
      await last?.();
      await commit();
    } catch (err) {
      await abort();
      throw err;
    }
  };
  return { path: file, tempPath, handle, commit, abort, finish };
}
