// The command line: bad input ends with one line naming the problem and a
// non-zero exit, never a stack trace or a half-written output.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { info } from '../../lib/core/info';
import { createTrajectory, openTrajectory } from '../../lib/io/trajectory';
import { expectOneLineError, runCli } from '../support/cli';
import { DATA } from '../support/data';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-cli-'));
const ADP = path.join(DATA, 'adp');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = runCli;

test('convert: DCD -> XTC -> PDB round trip with summary lines', async () => {
  const xtc = path.join(dir, 'a.xtc');
  const r = await run('convert', '--top', path.join(ADP, 'adp.pdb'), '--traj', path.join(ADP, 'test-1000.dcd'), '--out', xtc);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/converted 1000 frames x 22 atoms to .*a.xtc/);
  const pdb = path.join(dir, 'a.pdb');
  const j = await run('convert', '--top', path.join(ADP, 'adp.pdb'), '--traj', xtc, '--out', pdb, '--json');
  expect(JSON.parse(j.out)).toMatchObject({ frames: 1000, atoms: 22 });
  expect(fs.readFileSync(pdb, 'utf8').match(/^MODEL/gm)?.length).toBe(1000);
});

test('missing file, unknown extension and unknown option', async () => {
  expectOneLineError(await run('convert', '--traj', path.join(dir, 'nope.dcd'), '--out', path.join(dir, 'o.dcd')), /nope.dcd: no such file/);
  expectOneLineError(await run('convert', '--traj', path.join(ADP, 'test-1000.dcd'), '--out', path.join(dir, 'o.gro')), /unknown trajectory format "gro"/);
  expectOneLineError(await run('convert', '--traj', 'a.dcd', '--out', 'b.dcd', '--bogus'), /unknown option '--bogus'/);
  expectOneLineError(await run('backmap', '--model', 'm.tcbm', '--cg', 'c.dcd', '--out', 'o.dcd', '--segments', '0'), /expected a positive integer/);
});

test('atom-count mismatch with the topology names file and counts, and writes nothing', async () => {
  const out = path.join(dir, 'mismatch.dcd');
  const r = await run('convert', '--top', path.join(DATA, 'chignolin/cln.pdb'), '--traj', path.join(ADP, 'test-1000.dcd'), '--out', out);
  expectOneLineError(r, /test-1000.dcd: has 22 atoms, topology has 166/);
  expect(fs.existsSync(out)).toBe(false);
});

test('a malformed or truncated input fails with its frame and leaves no output', async () => {
  const cut = path.join(dir, 'cut.dcd');
  const bytes = fs.readFileSync(path.join(ADP, 'test-1000.dcd'));
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  const out = path.join(dir, 'cut-out.xtc');
  const r = await run('convert', '--traj', cut, '--out', out);
  expectOneLineError(r, /cut.dcd: frame 999: /);
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const junk = path.join(dir, 'junk.xtc');
  fs.writeFileSync(junk, Buffer.alloc(200, 7));
  expectOneLineError(await run('convert', '--traj', junk, '--out', path.join(dir, 'j.dcd')), /junk.xtc: .*(magic|not an XTC)/);
});

test('energy writes the contract CSV header and one row per frame', async () => {
  const csv = path.join(dir, 'e.csv');
  const r = await run('energy', '--top', path.join(ADP, 'adp.pdb'), '--system', path.join(ADP, 'system-vacuum.xml'), '--traj', path.join(ADP, 'test-1000.dcd'), '--out', csv);
  expect(r.code).toBe(0);
  const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
  expect(lines[0]).toBe('frame,total,HarmonicBondForce,HarmonicAngleForce,PeriodicTorsionForce,NonbondedForce');
  expect(lines.length).toBe(1001);
  const row = lines[1].split(',').map(Number);
  expect(row[1]).toBeCloseTo(row.slice(2).reduce((a, b) => a + b, 0), 4);
});

test('train --dry-run prints the model size', async () => {
  const r = await run('train', '--top', path.join(ADP, 'adp.pdb'), '--traj', path.join(ADP, 'test-1000.dcd'), '--system', path.join(ADP, 'system-vacuum.xml'), '--map', 'adp', '--preset', 'adp', '--out', path.join(dir, 'm.tcbm'), '--dry-run');
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/preset adp: 1,452,150 parameters, 999 training pairs/);
});

test('the installed binary prints one line and exits non-zero on bad input (no stack trace)', () => {
  const bin = path.resolve(__dirname, '../../bin/tcbackmap.js');
  const r = spawnSync(process.execPath, [bin, 'convert', '--traj', path.join(dir, 'missing.xtc'), '--out', path.join(dir, 'x.dcd')], { encoding: 'utf8' });
  if (!fs.existsSync(path.resolve(__dirname, '../../dist/lib/cli/index.js'))) {
    expect(r.stderr).toMatch(/npm run build/);
    return;
  }
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tcbackmap: .*missing.xtc: no such file$/)]);
});

// The demo of each bundled molecule, end to end and offline (the bundled model and data only).
test.each([
  ['adp', 1000, 22],
  ['cln', 200, 166],
])('demo --molecule %s: backmaps the bundled sample (%d frames) and writes the report', async (molecule, frames, atoms) => {
  const out = path.join(dir, `demo-${molecule}`);
  const r = await run('demo', '--molecule', molecule, '--out', out, '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out);
  expect(s.frames).toBe(frames);
  expect(s.metrics.inputs.atoms).toBe(atoms);
  expect(s.metrics.inputs.framesTraj).toEqual([frames]);
  for (const f of ['cg.dcd', 'backmapped.dcd', 'backmapped-first-frames.pdb', 'report/index.html', 'report/metrics.json']) {
    expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(1000);
  }
  // a trained model: bonds within a few hundredths of a nm of the reference's
  expect(s.metrics.summary.bondMeanW1Nm).toBeLessThan(0.05);
}, 120_000);

// With --relax and the molecule's measured settings, the bundled chignolin frames come out physical:
// the raw network output clashes in some of them (1.5 % with run Z39; 91.5 % with run L), the refined ones in none.
test('demo --molecule cln --relax: no clash frame, the energy within 1 σ of the reference, bonds 10x closer', async () => {
  const out = path.join(dir, 'demo-cln-relax');
  const r = await run('demo', '--molecule', 'cln', '--relax', '--out', out, '--json');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out);
  expect(s.frames).toBe(200);
  expect(s.metrics.summary.clashFrameFraction.backmapped).toBe(0);
  const e = s.metrics.energy;
  expect(Math.abs(e.backmapped.total.mean - e.reference.total.mean)).toBeLessThan(e.reference.total.std);
  expect(s.metrics.summary.bondMeanW1Nm).toBeLessThan(0.001);
}, 300_000); // 88-120 s on an AVX2-only EPYC with the other core busy

test('demo: an unknown molecule is one line', async () => {
  expectOneLineError(await run('demo', '--molecule', 'lysozyme', '--out', path.join(dir, 'demo-x')), /--molecule must be adp or cln, got lysozyme/);
});

// --device: refused before any work when this libtorch cannot use it, one line, exit 2.
describe('--device', () => {
  const oneLine = (r: { code: number; err: string }, pattern: RegExp) => {
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
  };
  const adp = (f: string) => path.join(ADP, f);
  const model = path.resolve(__dirname, '../../models/adp-cpu.tcbm');
  const commands: Record<string, string[]> = {
    backmap: ['backmap', '--model', model, '--cg', 'cg.dcd', '--out', path.join(dir, 'never.dcd')],
    train: ['train', '--top', adp('adp.pdb'), '--traj', adp('test-1000.dcd'), '--system', adp('system-vacuum.xml'), '--map', 'adp', '--out', path.join(dir, 'never.tcbm')],
    evaluate: ['evaluate', '--top', adp('adp.pdb'), '--system', adp('system-vacuum.xml'), '--ref', adp('test-1000.dcd'), '--traj', adp('test-1000.dcd'), '--out', path.join(dir, 'never-report')],
  };

  test.each(Object.keys(commands))('%s --device cuda without CUDA: one line naming the problem, exit 2, nothing written', async (name) => {
    if (info().cuda) return; // a CUDA libtorch runs it
    for (const d of ['cuda', 'cuda:1']) {
      oneLine(await run(...commands[name], '--device', d), new RegExp(`^tcbackmap: --device ${d}: this libtorch has no CUDA .*; use --device cpu$`));
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('never'))).toEqual([]);
  });

  test('a malformed device is one line, exit 2', async () => {
    for (const name of Object.keys(commands)) oneLine(await run(...commands[name], '--device', 'gpu'), /^tcbackmap: --device gpu: expected cpu, cuda or cuda:N$/);
  });

  test('info names the device and CUDA', async () => {
    const j = JSON.parse((await run('info', '--json')).out);
    expect(j).toMatchObject({ device: 'cpu', cuda: info().cuda });
    if (!j.cuda) expect(j.cudaDevices).toBe(0);
    const t = await run('info');
    expect(t.out).toMatch(/^device: cpu /m);
    expect(t.out).toMatch(/^cuda: (available|not available), /m);
    // the backmapping kernels this CPU gets
    expect(j.winograd).toEqual({ kernel: info().winograd.kernel, bf16: info().winograd.bf16 });
    expect(['avx512', 'avx2', 'none']).toContain(j.winograd.kernel);
    expect(t.out).toMatch(/^backmapping convolutions: (Winograd, (avx512|avx2) GEMM kernel|at::conv3d .*); --precision bf16: /m);
  });

  test('backmap --device cpu backmaps (8 frames)', async () => {
    const reader = await openTrajectory(adp('test-1000.dcd'));
    const head = await reader.read(0, 8);
    await reader.close();
    const aa = path.join(dir, 'aa20.dcd');
    const w = await createTrajectory(aa, { atoms: head.atoms });
    await w.write(head);
    await w.close();
    const cg = path.join(dir, 'cg20.dcd');
    expect((await run('coarse-grain', '--model', model, '--traj', aa, '--out', cg)).code).toBe(0);
    const out = path.join(dir, 'bm20.dcd');
    const r = await run('backmap', '--model', model, '--cg', cg, '--out', out, '--device', 'cpu', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).frames).toBe(8);
    expect(fs.statSync(out).size).toBeGreaterThan(8 * 22 * 12);

    // --samples 3: three files, out.0.dcd … out.2.dcd, and the spread in the summary; none named out.dcd
    const ens = path.join(dir, 'ens8.dcd');
    const e = await run('backmap', '--model', model, '--cg', cg, '--out', ens, '--samples', '3', '--seed', '4', '--json');
    expect(e.code).toBe(0);
    const summary = JSON.parse(e.out);
    expect(summary).toMatchObject({ frames: 8, samples: 3, outputs: [0, 1, 2].map((i) => path.join(dir, `ens8.${i}.dcd`)) });
    expect(summary.spread.bead.rms).toBeLessThan(summary.spread.nonBead.rms);
    expect(fs.existsSync(ens)).toBe(false);
    for (const f of summary.outputs) expect(fs.statSync(f).size).toBeGreaterThan(8 * 22 * 12);
    const text = await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'ens8b.dcd'), '--samples', '2');
    expect(text.out).toMatch(/^backmapped 2 x 8 frames .* to .*ens8b\.0\.dcd \.\.\. .*ens8b\.1\.dcd; spread across samples, nm: bead atoms RMS [\d.]+ \(max [\d.]+\), other atoms RMS/);
    oneLine(await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'never.dcd'), '--samples', '0'), /samples.*expected a positive integer, got "0"/);
    // a rough input's level: given here, denoised for this model (not told it), said in the summary
    const rough = await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'rough8.dcd'), '--cg-noise', '0.02');
    expect(rough.out).toMatch(/; CG noise level 0\.0200 nm, input denoised/);
    oneLine(await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'never.dcd'), '--cg-noise', 'loud'), /cg-noise.*expected "auto" or a noise level in nm in \[0, 1\), got "loud"/);
    // --precision bf16 and the relax thermal stage's length reach the run; a bad precision is one line
    const bf = await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'bf8.dcd'), '--precision', 'bf16', '--relax', '--relax-temperature', '300', '--relax-thermal-steps', '20', '--json');
    expect(bf.code).toBe(0);
    expect(JSON.parse(bf.out)).toMatchObject({ frames: 8, relax: { frames: 8 } });
    // the screening reaches the refinement: other frames, the same reported energy scale
    const screened = await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'bf8s.dcd'), '--precision', 'bf16', '--relax', '--relax-temperature', '300', '--relax-thermal-steps', '20', '--relax-dielectric', '4', '--json');
    expect(screened.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'bf8s.dcd')).equals(fs.readFileSync(path.join(dir, 'bf8.dcd')))).toBe(false);
    oneLine(await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'never.dcd'), '--relax', '--relax-dielectric', '0'), /relax-dielectric.*expected a positive number, got "0"/);
    oneLine(await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'never.dcd'), '--relax', '--relax-constraints', 'all'), /relax-constraints.*expected auto, hbonds or none, got "all"/);
    oneLine(await run('backmap', '--model', model, '--cg', cg, '--out', path.join(dir, 'never.dcd'), '--precision', 'fp16'), /precision.*expected fp32 or bf16, got "fp16"/);
  }, 60_000);
});
