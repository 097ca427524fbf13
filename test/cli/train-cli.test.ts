// `tcbackmap train` as a process: Ctrl-C saves a checkpoint and exits cleanly;
// --resume finishes the run and writes a model that backmap loads.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readModelFile } from '../../lib/inference/modelinfo';
import { DATA } from '../support/data';

const BIN = path.resolve(__dirname, '../../bin/tcbackmap.js');
const built = fs.existsSync(path.resolve(__dirname, '../../dist/lib/cli/index.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-train-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ADP = path.join(DATA, 'adp');
const args = (out: string, steps: number) => [
  BIN, 'train', '--top', path.join(ADP, 'adp.pdb'), '--traj', path.join(ADP, 'test-1000.dcd'),
  '--system', path.join(ADP, 'system-vacuum.xml'), '--map', 'adp', '--preset', 'tiny',
  '--steps', String(steps), '--threads', '1', '--seed', '4', '--out', out, '--checkpoint-every', '1000',
];

(built ? test : test.skip)('SIGINT saves a checkpoint and exits; --resume completes the run', async () => {
  const out = path.join(dir, 'model.tcbm');
  const log = `${out}.log.jsonl`;
  const child = spawn(process.execPath, args(out, 100000), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  // wait until a few steps are logged, then interrupt
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').split('\n').length > 5) {
        clearInterval(timer);
        child.kill('SIGINT');
        resolve();
      }
    }, 100);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('train exited before it was interrupted'));
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(130);
  expect(stdout).toMatch(/interrupted at step (\d+): checkpoint saved to .*model.tcbm.ckpt/);
  const stopped = Number(/interrupted at step (\d+)/.exec(stdout)![1]);
  expect(fs.existsSync(`${out}.ckpt`)).toBe(true);
  expect(fs.existsSync(out)).toBe(false);

  // A run killed between checkpoints has logged steps past its checkpoint: the resume redoes them, once.
  fs.appendFileSync(log, JSON.stringify({ step: stopped, total: -1 }) + '\n' + JSON.stringify({ step: stopped + 1, total: -1 }) + '\n');
  const resumed = spawnSync(process.execPath, [...args(out, stopped + 5), '--resume', `${out}.ckpt`, '--json'], { encoding: 'utf8' });
  expect(resumed.status).toBe(0);
  const summary = JSON.parse(resumed.stdout);
  expect(summary.steps).toBe(stopped + 5);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = lines.map((l) => l.step);
  expect(steps).toEqual(Array.from({ length: stopped + 5 }, (_, i) => i));
  expect(lines.some((l) => l.total === -1)).toBe(false);
  const { info } = await readModelFile(out);
  expect(info.training.steps).toBe(stopped + 5);
});

(built ? test : test.skip)('--validate logs validation figures every --validate-every steps', () => {
  const out = path.join(dir, 'validated.tcbm');
  const held = path.join(ADP, 'test-1000.dcd');
  const r = spawnSync(process.execPath, [...args(out, 6), '--validate', held, '--validate-every', '3', '--json'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const lines = fs.readFileSync(`${out}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const v = lines.filter((l) => l.validation).map((l) => l.validation);
  expect(v.map((x) => x.step)).toEqual([3, 6]);
  for (const x of v) {
    expect(x.beadRmsd).toBeGreaterThan(0);
    expect(x.otherRmsd).toBeGreaterThan(0);
    // renaming the methyl hydrogens to the decoded frame can only bring it closer
    expect(x.otherRmsdRenamed).toBeGreaterThan(0);
    expect(x.otherRmsdRenamed).toBeLessThan(x.otherRmsd);
    expect(Number.isFinite(x.energy.decoded) && Number.isFinite(x.energy.reference)).toBe(true);
    expect(x.klPerDimension).toHaveLength(8);
    expect(x.rollout.frames).toBe(300);
    expect(x.rollout.phiPsiJs).toBeGreaterThanOrEqual(0);
    expect(x.rollout.phiPsiJs).toBeLessThanOrEqual(Math.log(2) + 1e-12);
    // clash fractions of the decoded pairs and of the rollout: k of 64 frames, j of 300
    expect(Number.isInteger(x.clashFrames * 64) && x.clashFrames >= 0 && x.clashFrames <= 1).toBe(true);
    expect(Math.abs(x.rollout.clashFrames * 300 - Math.round(x.rollout.clashFrames * 300))).toBeLessThan(1e-9);
  }
  expect(JSON.parse(r.stdout).validation.step).toBe(6);
});

(built ? test : test.skip)('--init starts from a finished model at its step with its weights; with --resume it is refused in one line', async () => {
  const first = path.join(dir, 'first.tcbm');
  expect(spawnSync(process.execPath, [...args(first, 4), '--json'], { encoding: 'utf8' }).status).toBe(0);
  const second = path.join(dir, 'second.tcbm');
  const r = spawnSync(process.execPath, [...args(second, 7), '--init', first, '--json'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const steps = fs.readFileSync(`${second}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  expect(steps).toEqual([4, 5, 6]); // from the model's step 4 to 7
  const { info } = await readModelFile(second);
  expect(info.training.steps).toBe(7);
  const both = spawnSync(process.execPath, [...args(path.join(dir, 'third.tcbm'), 7), '--init', first, '--resume', `${second}.ckpt`], { encoding: 'utf8' });
  expect(both.status).not.toBe(0);
  expect(both.stderr.trim().split('\n')).toEqual(['tcbackmap: train: --resume continues a checkpoint, --init starts from a model: give one of them']);
  expect(fs.existsSync(path.join(dir, 'third.tcbm'))).toBe(false);
  const ckpt = spawnSync(process.execPath, [...args(path.join(dir, 'fourth.tcbm'), 7), '--init', `${second}.ckpt`], { encoding: 'utf8' });
  expect(ckpt.stderr.trim()).toMatch(/second\.tcbm\.ckpt.*is a training checkpoint, not a model/);
});

(built ? test : test.skip)('--keep-every writes a finished model every K steps without changing the run', async () => {
  const plain = path.join(dir, 'plain.tcbm');
  expect(spawnSync(process.execPath, [...args(plain, 6), '--json'], { encoding: 'utf8' }).status).toBe(0);
  const out = path.join(dir, 'kept.tcbm');
  const r = spawnSync(process.execPath, [...args(out, 6), '--keep-every', '2', '--json'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  // steps 2 and 4; step 6 is the run's own model
  const kept = [2, 4].map((s) => path.join(dir, `kept.step-${s}.tcbm`));
  expect(JSON.parse(r.stdout).kept).toEqual(kept);
  expect(fs.existsSync(path.join(dir, 'kept.step-6.tcbm'))).toBe(false);
  for (const [i, file] of kept.entries()) expect((await readModelFile(file)).info.training.steps).toBe(2 * (i + 1));
  // the kept models' encoding of the training pairs leaves the optimiser's path untouched
  const losses = (f: string) => fs.readFileSync(`${f}.log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).total);
  expect(losses(out)).toEqual(losses(plain));
  // --keep-from 4: only step 4's; without --keep-every it is refused in one line
  const from = path.join(dir, 'from.tcbm');
  const f = spawnSync(process.execPath, [...args(from, 6), '--keep-every', '2', '--keep-from', '3', '--json'], { encoding: 'utf8' });
  expect(JSON.parse(f.stdout).kept).toEqual([path.join(dir, 'from.step-4.tcbm')]);
  const alone = spawnSync(process.execPath, [...args(path.join(dir, 'alone.tcbm'), 6), '--keep-from', '3'], { encoding: 'utf8' });
  expect(alone.status).not.toBe(0);
  expect(alone.stderr.trim().split('\n')).toEqual(['tcbackmap: train: --keep-from needs --keep-every']);
});
