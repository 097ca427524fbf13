// Outputs are written to a temporary name beside the destination and renamed
// when complete, so a failed or interrupted run never leaves a half-written file.
import { promises as fsp } from 'fs';
import * as path from 'path';
import { fileError } from '../core/errors';

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

export async function openAtomic(file: string): Promise<AtomicFile> {
  const dir = path.dirname(path.resolve(file));
  const tempPath = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(tempPath, 'w');
  } catch (err) {
    throw fileError('ERR_FILE_NOT_FOUND', file, `cannot write here (${(err as NodeJS.ErrnoException).code})`);
  }
  let done = false;
  const commit = async () => {
    if (done) return;
    done = true;
    await handle.close();
    await fsp.rename(tempPath, file);
  };
  const abort = async () => {
    if (done) return;
    done = true;
    await handle.close().catch(() => undefined);
    await fsp.rm(tempPath, { force: true });
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
