// The malformed-input corpus (generate.ts): for every case, a non-zero exit and one
// line naming the file (and frame or field), no output and no temporary file left,
// the inputs byte-identical afterwards, and the process still alive.
import { createHash } from 'crypto';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/cli';
import { makeCorpus, type CorpusCase } from './generate';

const ROOT = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-corpus-'));
const full = path.join(dir, 'full');
let mounted = false;
let cases: CorpusCase[] = [];

beforeAll(async () => {
  // A 4 KiB filesystem for the "disk full" case, where mounting is allowed (root in CI and here).
  fs.mkdirSync(full);
  mounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', full]).status === 0;
  cases = await makeCorpus(ROOT, path.join(dir, 'files'), mounted ? full : undefined);
}, 60_000);

afterAll(() => {
  if (mounted) spawnSync('umount', [full]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function hashes(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of fs.readdirSync(folder)) {
    const p = path.join(folder, name);
    if (fs.statSync(p).isFile()) out.set(name, createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
  }
  return out;
}

test('at least 200 cases, across every command', () => {
  expect(cases.length).toBeGreaterThanOrEqual(200);
  const commands = new Set(cases.map((c) => c.args[0]));
  for (const c of ['convert', 'energy', 'coarse-grain', 'evaluate', 'backmap', 'train']) expect(commands).toContain(c);
  console.log(`malformed-input corpus: ${cases.length} cases (${[...commands].map((c) => `${c} ${cases.filter((x) => x.args[0] === c).length}`).join(', ')})${mounted ? '' : '; no 4 KiB tmpfs could be mounted, so the disk-full case is not among them'}`);
});

test('every case fails cleanly: one line naming the file, no output, no temporary file, inputs unchanged', async () => {
  const failures: string[] = [];
  const inputs = path.join(dir, 'files');
  for (const c of cases) {
    const before = hashes(inputs);
    const outBefore = new Set(fs.readdirSync(c.outDir));
    const r = await runCli(...c.args);
    const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('tcbackmap: warning:'));
    const problems: string[] = [];
    if (r.code === 0) problems.push('exit 0 (silent success)');
    if (lines.length !== 1) problems.push(`${lines.length} lines of error output`);
    if (!/^tcbackmap: /.test(lines[0] ?? '')) problems.push('no "tcbackmap:" line');
    if (!c.expect.test(lines[0] ?? '')) problems.push(`message does not match ${c.expect}`);
    const left = fs.readdirSync(c.outDir).filter((f) => !outBefore.has(f));
    if (left.length) problems.push(`left ${left.join(', ')}`);
    const after = hashes(inputs);
    for (const [name, h] of before) if (after.get(name) !== h) problems.push(`input ${name} changed`);
    if (problems.length) failures.push(`${c.name}: ${problems.join('; ')} — "${lines[0] ?? ''}"`);
    for (const f of left) fs.rmSync(path.join(c.outDir, f), { recursive: true, force: true });
  }
  expect(failures).toEqual([]);
}, 600_000);
