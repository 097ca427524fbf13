// Running Debian's Python (mdtraj, OpenMM) from tests, and the shared data folder.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const PYTHON = '/usr/bin/python3';
/** ../shared/data beside the clone (the reference MD); TCBM_SHARED_DATA points elsewhere (or nowhere, to see what skips). */
export const SHARED_DATA = process.env.TCBM_SHARED_DATA ?? path.resolve(__dirname, '../../../shared/data');
export const hasSharedData = fs.existsSync(SHARED_DATA);

const available = new Map<string, boolean>();

/** True when /usr/bin/python3 can import `module`; logs once why tests skip otherwise. */
export function hasPython(module: string): boolean {
  if (!available.has(module)) {
    const ok = spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
    if (!ok) console.log(`skipping comparisons with ${module}: it cannot be imported by ${PYTHON}`);
    available.set(module, ok);
  }
  return available.get(module)!;
}

/** Runs a Python snippet; returns stdout, throws with stderr on failure. */
export function python(code: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

export function sharedData(...parts: string[]): string {
  return path.join(SHARED_DATA, ...parts);
}
