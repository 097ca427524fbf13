// Shared pieces of the benchmarks: statistics, the machine line, the PyTorch
// mirror runner and a small table printer.
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

export const PYTHON = '/usr/bin/python3';

export function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu.trim()}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

/** Runs a bench/*.py script under Debian's Python; null (with the reason printed) when it cannot. */
export function runPython<T>(script: string, args: string[]): T | null {
  const file = path.join(__dirname, '..', '..', 'bench', script);
  const r = spawnSync(PYTHON, [file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').slice(-1)[0];
    console.log(`  (PyTorch mirror skipped: ${why}; "bash scripts/bootstrap.sh --bench" installs python3-torch)`);
    return null;
  }
  return JSON.parse(r.stdout) as T;
}

export function table(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(c >= 100 ? 0 : c >= 10 ? 1 : 2) : c)));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const r of cells) console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}
