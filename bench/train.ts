// One training step of the `adp` preset (the paper's size, batch 32) on real
// ADP frames: ours (native Model.trainStep) vs the PyTorch mirror of the same
// architecture (bench/train_torch.py), on the same batch, in one run. Two
// cases: without the energy term, and with it (γ = 1, the ADP force field; the
// mirror evaluates the same force field as float64 autograd tensor code).
// Each in fp32 and under bf16 autocast on both sides (ours: `precision: 'bf16'`,
// the mirror: torch.autocast with fp32 GroupNorm, as ours).
// Sides alternate in rounds so drift of a shared machine hits both alike.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NativeModel } from '../binding';
import { Energy } from '../lib/forcefield/energy';
import { readTrajectory } from '../lib/io/trajectory';
import { topologyFromPdb } from '../lib/io/pdb';
import { applyMapping, presetMapping } from '../lib/model/mapping';
import { packageRoot } from '../lib/core/native';
import { PRESETS } from '../lib/model/presets';
import { Rng } from '../lib/core/rng';
import { centroid } from '../lib/inference/superpose';
import { newModel } from '../lib/model/architecture';
import { median, runPython, table } from './common';

export interface TrainBenchOptions {
  threads: number;
  /** timed steps per case and side (split over two rounds) */
  repeats: number;
}

interface MirrorResult {
  torch: string;
  threads: number;
  parameters: number;
  noEnergy: number[];
  energy?: number[];
}

const GAMMA = 1;
// The soft per-frame clamp of the -cpu presets: an untrained decoder puts atoms
// on top of each other, and unclamped Lennard-Jones energies overflow float32.
const CLAMP = 1e5;

export async function benchTrain({ threads, repeats }: TrainBenchOptions): Promise<Record<string, number>> {
  const preset = PRESETS.adp;
  const arch = preset.architecture;
  const B = preset.training.batch;
  const dataDir = path.join(packageRoot, 'data', 'adp');
  const topology = await topologyFromPdb(path.join(dataDir, 'adp.pdb'));
  const mapping = presetMapping('adp', topology);
  const xml = path.join(dataDir, 'system-vacuum.xml');
  const energy = await Energy.load(xml);
  const N = topology.atoms.length;
  const n = mapping.beads;
  const L = arch.latent;

  // A batch as the Trainer builds it: pairs (t-1, t) of real frames, centred on
  // the CG centroid of frame t and rotated, so the energy term sees real molecules.
  const ref = await readTrajectory(path.join(dataDir, 'test-1000.dcd'), { atoms: N });
  const cgAll = applyMapping(mapping, ref.coords, ref.frames);
  const rng = new Rng(7);
  const aaT = new Float32Array(B * N * 3);
  const aaPrev = new Float32Array(B * N * 3);
  const cgT = new Float32Array(B * n * 3);
  for (let b = 0; b < B; b++) {
    const t = 1 + rng.int(ref.frames - 1);
    const c = centroid(cgAll, t * n * 3, n);
    const r = rng.rotation();
    const put = (src: Float32Array, offset: number, count: number, dst: Float32Array, at: number): void => {
      for (let i = 0; i < count; i++) {
        const x = src[offset + 3 * i] - c[0], y = src[offset + 3 * i + 1] - c[1], z = src[offset + 3 * i + 2] - c[2];
        for (let k = 0; k < 3; k++) dst[at + 3 * i + k] = r[3 * k] * x + r[3 * k + 1] * y + r[3 * k + 2] * z;
      }
    };
    put(ref.coords, t * N * 3, N, aaT, b * N * 3);
    put(ref.coords, (t - 1) * N * 3, N, aaPrev, b * N * 3);
    put(cgAll, t * n * 3, n, cgT, b * n * 3);
  }
  const eps = rng.normals(new Float32Array(B * L));

  console.log(
    `\ntraining step, \`adp\` preset (batch ${B}, grid ${arch.grid}, latent ${L}, widths ${arch.encoderWidth}/${arch.decoderWidth}), ` +
      `Adam + clip_grad_norm, ${threads} threads, median of ${repeats} steps per case (after 1 warm-up, two alternating rounds)`,
  );

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-bench-train-'));
  const inputs = path.join(dir, 'batch.f32');
  const all = new Float32Array(aaT.length + aaPrev.length + cgT.length + eps.length + mapping.matrix.length);
  let o = 0;
  for (const a of [aaT, aaPrev, cgT, eps, mapping.matrix]) {
    all.set(a, o);
    o += a.length;
  }
  fs.writeFileSync(inputs, Buffer.from(all.buffer));

  // Both sides in fp32 and under bf16 autocast (ours: --precision bf16; the mirror: torch.autocast),
  // without and with the energy term.
  type Case = 'noEnergy' | 'energy';
  type Precision = 'fp32' | 'bf16';
  const PRECISIONS: Precision[] = ['fp32', 'bf16'];
  const times = (): Record<Precision, Record<Case, number[]>> => ({ fp32: { noEnergy: [], energy: [] }, bf16: { noEnergy: [], energy: [] } });
  const ours = times();
  const mirror = times();
  let ourParameters = 0;
  let mirrorInfo: MirrorResult | null = null;
  const perRound = Math.max(1, Math.ceil(repeats / 2));
  try {
    for (let round = 0; round < 2; round++) {
      for (const precision of PRECISIONS) {
        for (const withEnergy of [false, true]) {
          const model = newModel(arch, { topology, mapping }, preset.training.learningRate, 1, true);
          ourParameters = model.parameterCount();
          if (withEnergy) model.setEnergy(energy.handle);
          const t = await timeSteps(model, { batch: B, aaT, aaPrev, cgT, eps, threads, bf16: precision === 'bf16' }, withEnergy, perRound);
          ours[precision][withEnergy ? 'energy' : 'noEnergy'].push(...t);
        }
        const py = runPython<MirrorResult>('train_torch.py', [
          '--inputs', inputs, '--batch', String(B), '--atoms', String(N), '--beads', String(n),
          '--grid', String(arch.grid), '--width', String(arch.width), '--sigma', String(arch.sigma), '--latent', String(L),
          '--gaussian', arch.gaussian ?? 'std', '--centring', arch.centring ?? 'cg', '--edm-weight', String(preset.training.edmWeight ?? 1),
          '--encoder-stem', String(arch.encoderStem ?? 3), '--latent-path', arch.latentPath ?? 'broadcast',
          '--enc', String(arch.encoderWidth), '--dec', String(arch.decoderWidth),
          '--condition', String(arch.conditionBlocks), '--trunk', String(arch.trunkBlocks),
          '--lr', String(preset.training.learningRate), '--clip', String(preset.training.clipNorm),
          '--system', xml, '--gamma', String(GAMMA), '--clamp', String(CLAMP),
          '--threads', String(threads), '--repeats', String(perRound), ...(precision === 'bf16' ? ['--bf16'] : []),
        ]);
        if (!py) continue;
        mirrorInfo = py;
        mirror[precision].noEnergy.push(...py.noEnergy);
        mirror[precision].energy.push(...(py.energy ?? []));
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  if (mirrorInfo) {
    console.log(`  parameters: ours ${ourParameters.toLocaleString('en')}, PyTorch mirror ${mirrorInfo.parameters.toLocaleString('en')}` +
      (ourParameters === mirrorInfo.parameters ? ' (equal)' : ' (DIFFERENT: the mirror is not the same network)'));
  } else {
    console.log(`  parameters: ours ${ourParameters.toLocaleString('en')}`);
  }
  const ms: Record<string, number> = {};
  const rows: (string | number)[][] = [['case', 'ours fp32', 'ours bf16', `PyTorch fp32`, 'PyTorch bf16', 'ours bf16 / PyTorch fp32', 'ours bf16 / PyTorch bf16']];
  const label: Record<Case, string> = {
    noEnergy: 'five terms (γ = 0, no force field on either side)',
    energy: `six terms (γ = ${GAMMA}, ADP force field, clamp ${CLAMP.toExponential(0)})`,
  };
  for (const c of ['noEnergy', 'energy'] as Case[]) {
    const o = { fp32: median(ours.fp32[c]), bf16: median(ours.bf16[c]) };
    const m = { fp32: median(mirror.fp32[c]), bf16: median(mirror.bf16[c]) };
    for (const p of PRECISIONS) {
      ms[`ours ${p}, ${c === 'energy' ? `energy term (γ = ${GAMMA})` : 'no energy term'}`] = o[p];
      if (mirrorInfo) ms[`PyTorch ${mirrorInfo.torch} ${p}, ${c === 'energy' ? 'energy term' : 'no energy term'}`] = m[p];
    }
    const ratio = (a: number, b: number) => (mirrorInfo && Number.isFinite(b) ? (a / b).toFixed(2) : '-');
    rows.push([label[c], o.fp32, o.bf16, mirrorInfo ? m.fp32 : '-', mirrorInfo ? m.bf16 : '-', ratio(o.bf16, m.fp32), ratio(o.bf16, m.bf16)]);
  }
  table(rows);
  if (mirrorInfo) {
    const o = median(ours.bf16.noEnergy);
    console.log(`  ours in bf16 vs the PyTorch mirror (ms per step, ${threads} threads): ${(o / median(mirror.fp32.noEnergy)).toFixed(2)}x its fp32 step (goal <= 0.3x), ` +
      `${(o / median(mirror.bf16.noEnergy)).toFixed(2)}x its bf16-autocast step (goal <= 0.8x); ours bf16 / ours fp32 ${(o / median(ours.fp32.noEnergy)).toFixed(2)}`);
  }
  return ms;
}

async function timeSteps(
  model: NativeModel,
  batch: { batch: number; aaT: Float32Array; aaPrev: Float32Array; cgT: Float32Array; eps: Float32Array; threads: number; bf16: boolean },
  withEnergy: boolean,
  repeats: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let r = -1; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    await model.trainStep({ ...batch, gamma: withEnergy ? GAMMA : 0, beta: 1, clipNorm: 1, energyClamp: withEnergy ? CLAMP : 0, edmWeight: PRESETS.adp.training.edmWeight ?? 1 });
    if (r >= 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}
