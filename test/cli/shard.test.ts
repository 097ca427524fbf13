// backmap --shard i/n and concat: n shards computed apart and joined equal one
// --segments n run byte for byte; concat refuses shards that are not one whole run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createTrajectory, readTrajectory } from '../../lib/io/trajectory';
import { DATA } from '../support/data';
import { expectOneLineError, runCli } from '../support/cli';

const MODEL = path.resolve(__dirname, '../../models/adp-cpu.tcbm');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-shard-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const FRAMES = 402; // not a multiple of 4: the shards differ in length
const cg = path.join(dir, 'cg.dcd');
const at = (name: string) => path.join(dir, name);

beforeAll(async () => {
  const full = at('cg-full.dcd');
  expect((await runCli('coarse-grain', '--model', MODEL, '--traj', path.join(DATA, 'adp/test-1000.dcd'), '--out', full)).code).toBe(0);
  const whole = await readTrajectory(full);
  const w = await createTrajectory(cg, { atoms: whole.atoms });
  await w.write({ frames: FRAMES, coords: whole.coords.subarray(0, FRAMES * whole.atoms * 3) });
  await w.close();
}, 60_000);

const backmap = (out: string, ...more: string[]) => runCli('backmap', '--model', MODEL, '--cg', cg, '--out', out, '--threads', '1', '--seed', '3', ...more);

test('4 shards joined by concat (in any order) equal --segments 4, byte for byte', async () => {
  for (const format of ['dcd', 'xtc']) {
    expect((await backmap(at(`segments.${format}`), '--segments', '4')).code).toBe(0);
    const parts = [2, 0, 3, 1].map((i) => at(`part.${i}.${format}`));
    for (const part of parts) {
      const i = Number(/part\.(\d)/.exec(part)![1]);
      const r = await backmap(part, '--shard', `${i}/4`, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).shard).toMatchObject({ index: i, count: 4, total: FRAMES });
    }
    const r = await runCli('concat', ...parts, '--out', at(`joined.${format}`));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(`joined 4 shards (${FRAMES} frames x 22 atoms)`);
    expect(fs.readFileSync(at(`joined.${format}`)).equals(fs.readFileSync(at(`segments.${format}`)))).toBe(true);
  }
  // and the shard is not the unsharded run: its frames start from their own seed frame
  expect((await backmap(at('whole.dcd'))).code).toBe(0);
  expect(fs.readFileSync(at('whole.dcd')).equals(fs.readFileSync(at('segments.dcd')))).toBe(false);
}, 180_000);

test('concat refuses a missing, doubled, foreign or unfinished shard with one line, and writes nothing', async () => {
  const parts = [0, 1, 2, 3].map((i) => at(`part.${i}.dcd`));
  const out = at('refused.dcd');
  expectOneLineError(await runCli('concat', parts[0], parts[1], parts[3], '--out', out), /shard 2\/4 of .* missing/);
  expectOneLineError(await runCli('concat', parts[0], parts[1], parts[1], parts[3], '--out', out), /part\.1\.dcd: is shard 1\/4, given twice/);
  expect((await backmap(at('other.2.dcd'), '--shard', '2/4', '--seed', '4')).code).toBe(0);
  expectOneLineError(await runCli('concat', parts[0], parts[1], at('other.2.dcd'), parts[3], '--out', out), /other\.2\.dcd: is shard 2\/4 of another run/);
  // a shard cut short after its manifest was written
  const cut = at('cut.2.dcd');
  const bytes = fs.readFileSync(parts[2]);
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 2 * (3 * (22 * 4 + 8))));
  fs.copyFileSync(`${parts[2]}.shard.json`, `${cut}.shard.json`);
  expectOneLineError(await runCli('concat', parts[0], parts[1], cut, parts[3], '--out', out), /cut\.2\.dcd: has 98 frames, its manifest says 100/);
  expectOneLineError(await runCli('concat', parts[0], path.join(DATA, 'adp/test-1000.dcd'), '--out', out), /test-1000\.dcd: has no shard manifest/);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
}, 60_000);

test('--shard is checked before any work: malformed, out of range, or with --segments/--samples', async () => {
  expectOneLineError(await backmap(at('x.dcd'), '--shard', '4/4'), /--shard.*expected i\/n with 0 ≤ i < n/);
  expectOneLineError(await backmap(at('x.dcd'), '--shard', 'half'), /expected i\/n/);
  expectOneLineError(await backmap(at('x.dcd'), '--shard', '0/2', '--segments', '2'), /shard cannot be combined with segments > 1 or samples > 1/);
  expectOneLineError(await backmap(at('x.dcd'), '--shard', '0/500'), /cg\.dcd: has 402 frames, fewer than the 500 shards/);
  expect(fs.existsSync(at('x.dcd'))).toBe(false);
});
