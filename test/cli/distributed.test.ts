// `tcbackmap train --distributed`: two processes on 127.0.0.1 (c10d Gloo) make
// the run one process makes with the same seed and global batch; a rank that
// dies makes the other exit with a line that names it, and the checkpoint resumes.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { readModelFile } from '../../lib/inference/modelinfo';
import { native } from '../../lib/core/native';
import { readTrajectory } from '../../lib/io/trajectory';
import { DATA } from '../support/data';

const BIN = path.resolve(__dirname, '../../bin/tcbackmap.js');
const built = fs.existsSync(path.resolve(__dirname, '../../dist/lib/cli/index.js'));
const usable = built && native().distributed;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-dist-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ADP = path.join(DATA, 'adp');
// The tiny network at the adp presets' learning rate. Two fp32 runs that sum
// their batches in a different order drift apart through Adam like any
// chaotic system: over 20 steps, 1e-7…5e-5 relative at this rate and batch
// (measured over seeds; up to 3e-4 at the tiny preset's own 3e-3).
const preset = path.join(dir, 'tiny-5e-4.json');
fs.writeFileSync(preset, JSON.stringify({ base: 'tiny', name: 'tiny-5e-4', training: { learningRate: 5e-4 } }));
const trainArgs = (out: string, steps: number, more: string[] = []) => [
  BIN, 'train', '--top', path.join(ADP, 'adp.pdb'), '--traj', path.join(ADP, 'test-1000.dcd'),
  '--system', path.join(ADP, 'system-vacuum.xml'), '--map', 'adp', '--preset', preset, '--batch', '16',
  '--steps', String(steps), '--threads', '1', '--seed', '1', '--out', out, ...more,
];

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function start(args: string[]): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const t0 = Date.now();
  const done = new Promise<Exit>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 })));
  return { child, done };
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const rank = (r: number, port: number, timeout = 60) =>
  ['--distributed', '--rank', String(r), '--world-size', '2', '--master-addr', '127.0.0.1', '--master-port', String(port), '--dist-timeout', String(timeout)];

const totals = (log: string): number[] => fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.step !== undefined).map((r) => r.total);

(usable ? test : test.skip)('world size 2 × 1 thread makes the loss sequence of world size 1, and both models backmap', async () => {
  const one = path.join(dir, 'one.tcbm');
  const two = path.join(dir, 'two.tcbm');
  const single = start(trainArgs(one, 20));
  const port = await freePort();
  const r0 = start(trainArgs(two, 20, rank(0, port)));
  const r1 = start(trainArgs(path.join(dir, 'unused.tcbm'), 20, rank(1, port)));
  const [s, a, b] = await Promise.all([single.done, r0.done, r1.done]);
  expect([s.code, a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, 0, '']);
  expect(b.stdout).toMatch(/^rank 1 of 2: trained 20 steps/);
  expect(fs.existsSync(path.join(dir, 'unused.tcbm'))).toBe(false); // only rank 0 writes

  const x = totals(`${one}.log.jsonl`);
  const y = totals(`${two}.log.jsonl`);
  expect(y).toHaveLength(20);
  const worst = Math.max(...x.map((v, i) => Math.abs(v - y[i]) / Math.abs(v)));
  expect(worst).toBeLessThan(1e-4);
  expect(worst).toBeGreaterThan(0); // two runs of their own, not one file read twice

  const cg = path.join(dir, 'cg.dcd');
  const c = await start([BIN, 'coarse-grain', '--model', one, '--traj', path.join(ADP, 'test-1000.dcd'), '--out', cg]).done;
  expect(c.code).toBe(0);
  for (const file of [one, two]) {
    expect((await readModelFile(file)).info.training.steps).toBe(20);
    const bm = await start([BIN, 'backmap', '--model', file, '--cg', cg, '--out', `${file}.dcd`, '--threads', '1', '--json']).done;
    expect([bm.code, bm.stderr]).toEqual([0, '']);
    const back = await readTrajectory(`${file}.dcd`);
    expect(back.frames).toBe(1000);
    expect(back.coords.every(Number.isFinite)).toBe(true);
  }
}, 120_000);

(usable ? test : test.skip)('a rank killed mid-run: the other exits within the timeout naming it, and the checkpoint resumes', async () => {
  const out = path.join(dir, 'killed.tcbm');
  const port = await freePort();
  const more = (r: number) => [...rank(r, port, 20), '--checkpoint-every', '5'];
  const r0 = start(trainArgs(out, 100000, more(0)));
  const r1 = start(trainArgs(path.join(dir, 'killed-1.tcbm'), 100000, more(1)));
  const log = `${out}.log.jsonl`;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (fs.existsSync(`${out}.ckpt`) && fs.readFileSync(log, 'utf8').split('\n').length > 12) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    r0.done.then(() => reject(new Error('rank 0 ended before rank 1 was killed')));
  });
  r1.child.kill('SIGKILL');
  const killedAt = Date.now();
  const e = await r0.done;
  expect(e.code).not.toBe(0);
  expect(Date.now() - killedAt).toBeLessThan(20_000);
  const lines = e.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tcbackmap: distributed: rank 1 was lost/);

  // The last checkpoint is whole: a world of one carries on from it.
  const resumed = start(trainArgs(out, 40, ['--resume', `${out}.ckpt`, '--json']));
  const res = await resumed.done;
  expect([res.code, res.stderr]).toEqual([0, '']);
  expect(JSON.parse(res.stdout).steps).toBe(40);
  expect((await readModelFile(out)).info.training.steps).toBe(40);
}, 120_000);

(usable ? test : test.skip)('SIGINT to one rank stops every rank after the same step; rank 0 saves the checkpoint', async () => {
  const out = path.join(dir, 'interrupted.tcbm');
  const port = await freePort();
  const more = (r: number) => [...rank(r, port), '--checkpoint-every', '100000'];
  const r0 = start(trainArgs(out, 100000, more(0)));
  const r1 = start(trainArgs(path.join(dir, 'interrupted-1.tcbm'), 100000, more(1)));
  const log = `${out}.log.jsonl`;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').split('\n').length > 8) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
  r1.child.kill('SIGINT');
  const [a, b] = await Promise.all([r0.done, r1.done]);
  expect([a.code, b.code, a.stderr + b.stderr]).toEqual([130, 130, '']);
  const stopped = Number(/interrupted at step (\d+): checkpoint saved/.exec(a.stdout)![1]);
  expect(b.stdout).toMatch(`rank 1 of 2: interrupted at step ${stopped}; rank 0 saved the checkpoint`);
  const steps = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  expect(steps[steps.length - 1]).toBe(stopped - 1);
  expect(fs.existsSync(`${out}.ckpt`)).toBe(true);
  expect(fs.existsSync(path.join(dir, 'interrupted-1.tcbm.ckpt'))).toBe(false);
}, 120_000);
