// Backmapping throughput and memory (issue 6): the `adp` preset (paper size) at
// segments=1 on 1 thread vs the PyTorch mirror's autoregressive decoder at batch
// 1, segments=32 on 2 threads, and peak RSS over a long CG trajectory measured
// in a child process. Weights are untrained: the work per frame is the same.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Backmapper } from '../lib/inference/backmap';
import { createTrajectory, readTrajectory } from '../lib/io/trajectory';
import { presetMapping } from '../lib/model/mapping';
import { native, packageRoot } from '../lib/core/native';
import { Trainer } from '../lib/model/train';
import { topologyFromPdb } from '../lib/io/pdb';
import { runPython, table } from './common';

export interface BackmapBenchOptions {
  /** CG frames for the memory run (default 20000) */
  rssFrames: number;
  /** the roofline's rates (GFLOP/s by "op, N threads"), when it ran first */
  peaks?: Record<string, number>;
}

async function makeModel(dir: string, preset: string): Promise<{ model: string; cg: Float32Array }> {
  const top = await topologyFromPdb(path.join(packageRoot, 'data/adp/adp.pdb'));
  const ref = await readTrajectory(path.join(packageRoot, 'data/adp/test-1000.dcd'), { atoms: 22 });
  const mapping = presetMapping('adp', top);
  const trainer = Trainer.create({ topology: top, mapping, trajectories: [ref.coords] }, { preset, seed: 1, threads: 2 });
  const model = path.join(dir, `${preset}.tcbm`);
  await trainer.finalize(model, { posteriorPairs: 300, seedFrames: 500 });
  const bm = await Backmapper.load(model, { threads: 1 });
  return { model, cg: bm.coarseGrain(ref.coords, ref.frames) };
}

async function writeCg(file: string, cg: Float32Array, frames: number): Promise<void> {
  const per = 6 * 3;
  const have = cg.length / per;
  const w = await createTrajectory(file, { atoms: 6 });
  for (let done = 0; done < frames; ) {
    const n = Math.min(have, frames - done);
    await w.write({ frames: n, coords: cg.subarray(0, n * per) });
    done += n;
  }
  await w.close();
}

async function fps(model: string, cg: string, out: string, segments: number, threads: number, winograd = true, precision: 'fp32' | 'bf16' = 'fp32'): Promise<number> {
  const bm = await Backmapper.load(model, { threads, winograd });
  const r = await bm.backmapFile(cg, out, { segments, precision });
  return r.frames / r.seconds;
}

/** The `adp` decoder's convolutions per frame as direct convolutions (2·G³·Cin·Cout·k³), GFLOP. */
const ADP_DIRECT_GFLOP = 3.173;

export async function benchBackmap({ rssFrames, peaks }: BackmapBenchOptions): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-bench-backmap-'));
  const n = native();
  try {
    const { winogradKernel, bf16Winograd } = n.info();
    console.log(`\nbackmapping, \`adp\` preset (1.45M parameters; untrained weights, same work per frame); Winograd GEMM: ${winogradKernel}, bf16 products: ${bf16Winograd ? 'yes' : 'no'}`);
    const { model, cg } = await makeModel(dir, 'adp');
    const short = path.join(dir, 'cg-200.dcd');
    const medium = path.join(dir, 'cg-1280.dcd');
    await writeCg(short, cg, 200);
    await writeCg(medium, cg, 1280);
    const out = (name: string) => path.join(dir, `${name}.dcd`);
    const one = await fps(model, short, out('o1'), 1, 1);
    let oneAvx2: number | undefined;
    if (winogradKernel === 'avx512' && n.setWinogradKernel('avx2')) {
      try {
        oneAvx2 = await fps(model, short, out('o1a'), 1, 1);
      } finally {
        n.setWinogradKernel('auto');
      }
    }
    const oneDirect = await fps(model, short, out('o1d'), 1, 1, false);
    const many = await fps(model, medium, out('o32'), 32, 2);
    const manyDirect = await fps(model, medium, out('o32d'), 32, 2, false);
    const oneBf16 = await fps(model, short, out('o1b'), 1, 1, true, 'bf16');
    const oneBf16Onednn = await fps(model, short, out('o1bd'), 1, 1, false, 'bf16');
    const manyBf16 = await fps(model, medium, out('o32b'), 32, 2, true, 'bf16');
    const manyBf16Onednn = await fps(model, medium, out('o32bd'), 32, 2, false, 'bf16');
    const py = runPython<{ fps: number; parameters: number; torch: string }>('backmap_torch.py', ['--frames', '200', '--threads', '1']);
    // the whole frame's rate in direct-convolution GFLOP/s, as a fraction of a libtorch conv3d peak
    const rate = (f: number) => f * ADP_DIRECT_GFLOP;
    const ofPeak = (f: number, key: string) => (peaks?.[key] ? `${((100 * rate(f)) / peaks[key]).toFixed(0)} %` : '');
    const rows: (string | number)[][] = [['case', 'frames/s', 'vs ours segments=1', 'direct-conv GFLOP/s', 'of the conv3d peak']];
    const row = (label: string, f: number, key: string) => rows.push([label, f, f / one, rate(f), ofPeak(f, key)]);
    const fp1 = 'libtorch-conv3d-fp32, 1 threads', fp2 = 'libtorch-conv3d-fp32, 2 threads';
    const bf1 = 'libtorch-conv3d-bf16, 1 threads', bf2 = 'libtorch-conv3d-bf16, 2 threads';
    row(`ours, segments=1, 1 thread (Winograd, ${winogradKernel})`, one, fp1);
    if (oneAvx2 !== undefined) row('ours, segments=1, 1 thread (Winograd, the AVX2 fallback kernel)', oneAvx2, fp1);
    row('ours, segments=1, 1 thread, at::conv3d (no Winograd)', oneDirect, fp1);
    if (py) row(`PyTorch ${py.torch} mirror, autoregressive decoder, batch 1, 1 thread`, py.fps, fp1);
    row('ours, segments=32, 2 threads (Winograd)', many, fp2);
    row('ours, segments=32, 2 threads, at::conv3d', manyDirect, fp2);
    row('ours, segments=1, 1 thread, --precision bf16 (Winograd, bf16 products)', oneBf16, bf1);
    row('ours, segments=1, 1 thread, --precision bf16, oneDNN conv3d (no Winograd)', oneBf16Onednn, bf1);
    row('ours, segments=32, 2 threads, --precision bf16 (Winograd, bf16 products)', manyBf16, bf2);
    row('ours, segments=32, 2 threads, --precision bf16, oneDNN conv3d', manyBf16Onednn, bf2);
    table(rows);
    if (py) console.log(`  segments=1 vs PyTorch batch 1: ${(one / py.fps).toFixed(2)}x (goal >= 3x)`);
    console.log(`  Winograd vs at::conv3d: ${(one / oneDirect).toFixed(2)}x at segments=1, ${(many / manyDirect).toFixed(2)}x at segments=32`);
    console.log(`  segments=32 (2 threads) vs segments=1 (1 thread): ${(many / one).toFixed(1)}x fp32, ${(manyBf16 / one).toFixed(1)}x bf16 (goal >= 5x)`);
    if (py) console.log(`  bf16 segments=1 vs PyTorch batch 1 (fp32): ${(oneBf16 / py.fps).toFixed(2)}x`);
    console.log(`  1,000,000 frames at the bf16 segments=32 rate: ${(1e6 / manyBf16 / 3600).toFixed(2)} h (goal <= 1 h)`);

    // Memory: a long CG trajectory in a child process that reports its own peak RSS.
    const { model: cpuModel, cg: cpuCg } = await makeModel(dir, 'adp-cpu');
    const long = path.join(dir, `cg-${rssFrames}.xtc`);
    await writeCg(long, cpuCg, rssFrames);
    const child = spawnSync(
      process.execPath,
      [path.join(__dirname, 'backmap_rss.js'), cpuModel, long, path.join(dir, 'long.xtc'), '32', '2'],
      { encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    if (child.status !== 0) throw new Error(`backmap memory run failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout) as { frames: number; seconds: number; peakMb: number; samples: [number, number][] };
    const [f0, m0] = r.samples[Math.min(1, r.samples.length - 1)];
    const [f1, m1] = r.samples[r.samples.length - 1];
    const slope = f1 > f0 ? (m1 - m0) / (f1 - f0) : 0;
    const projected = r.peakMb + Math.max(0, slope) * (1_000_000 - r.frames);
    console.log(
      `  memory: backmapping ${r.frames} CG frames (adp-cpu, segments=32, XTC out) peaked at ${r.peakMb.toFixed(0)} MB RSS ` +
        `(${(r.frames / r.seconds).toFixed(0)} frames/s); RSS ${m0.toFixed(0)} -> ${m1.toFixed(0)} MB from frame ${f0} to ${f1}; ` +
        `projected to 1,000,000 frames: ${projected.toFixed(0)} MB (a projection, not a 1M-frame run; goal < 1024 MB)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
