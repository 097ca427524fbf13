// Energy + forces of a batch of 32 chignolin frames: our fused kernel vs our
// plain-autograd tensor expressions vs OpenMM (Reference and CPU platforms,
// looping frames as OpenMM evaluates them), ratios from one run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Energy } from '../lib/forcefield/energy';
import { openDcd } from '../lib/io/dcd';
import { native, packageRoot } from '../lib/core/native';
import { median, runPython, table } from './common';

export interface EnergyBenchOptions {
  threads: number;
  repeats: number;
}

const BATCH = 32;

export async function benchEnergy({ threads, repeats }: EnergyBenchOptions): Promise<Record<string, number>> {
  const dir = path.resolve(packageRoot, '..', 'shared', 'data', 'chignolin');
  const xml = path.join(dir, 'system-vacuum.xml');
  console.log(`\nforce-field energy + forces, ${BATCH} chignolin frames (166 atoms), ${threads} threads, median of ${repeats}`);
  if (!fs.existsSync(xml)) {
    console.log(`  (skipped: ${dir} is absent)`);
    return {};
  }
  const energy = await Energy.load(xml);
  const reader = await openDcd(path.join(dir, 'test.dcd'));
  const chunk = await reader.read(0, BATCH).finally(() => reader.close());
  const f64 = { data: Float64Array.from(chunk.coords), shape: [BATCH, energy.particles, 3] };
  const f32 = { data: chunk.coords, shape: [BATCH, energy.particles, 3] };

  const ms: Record<string, number> = {};
  for (const [label, coords] of [['float64', f64], ['float32', f32]] as const) {
    for (const impl of ['fused', 'tensor'] as const) {
      ms[`ours ${impl} ${label}`] = median(await energy.time(coords, { impl, threads, repeats }));
    }
  }
  // the fused kernel with its nonbonded loop forced scalar (the kernel for CPUs without AVX-512)
  if (native().info().energyKernel === 'avx512' && native().setEnergyKernel('scalar')) {
    try {
      ms['ours fused float64 scalar'] = median(await energy.time(f64, { impl: 'fused', threads, repeats }));
    } finally {
      native().setEnergyKernel('auto');
    }
  }

  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-bench-')), 'frames.f64');
  fs.writeFileSync(file, Buffer.from(f64.data.buffer, f64.data.byteOffset, f64.data.byteLength));
  const py = runPython<{ openmm: string; Reference: number[]; CPU: number[]; ReferenceEnergies: number[] }>('energy_openmm.py', [
    '--system', xml, '--coords', file, '--batch', String(BATCH), '--threads', String(threads), '--repeats', String(Math.max(3, repeats >> 1)),
  ]);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (py) {
    ms[`OpenMM ${py.openmm} Reference`] = median(py.Reference);
    ms[`OpenMM ${py.openmm} CPU`] = median(py.CPU);
    // The two sides evaluated the same frames: report how closely their totals agree.
    const ours = await energy.evaluate(f64);
    let worst = 0;
    py.ReferenceEnergies.forEach((e, b) => (worst = Math.max(worst, Math.abs(ours.total[b] - e))));
    console.log(`  (same frames: totals agree with OpenMM Reference to ${worst.toExponential(1)} kJ/mol)`);
  }

  const fused = ms['ours fused float64'];
  const labels: Record<string, string> = {
    'ours fused float64': `fused CPU kernel, analytic forces (float64; ${native().info().energyKernel} nonbonded loop)`,
    'ours fused float64 scalar': 'the same, scalar nonbonded loop',
    'ours tensor float64': 'tensor expressions + autograd (float64)',
    'ours fused float32': 'fused CPU kernel, analytic forces (float32 in/out)',
    'ours tensor float32': 'tensor expressions + autograd (float32)',
  };
  table([
    ['implementation', 'ms/batch', 'x slower than fused f64'],
    ...Object.entries(ms).map(([k, v]) => [labels[k] ?? k, v, v / fused]),
  ]);
  console.log(
    `  fused vs plain autograd: ${(ms['ours tensor float64'] / fused).toFixed(1)}x faster in float64, ` +
      `${(ms['ours tensor float32'] / ms['ours fused float32']).toFixed(1)}x in float32 (goal >= 3x)`,
  );
  return ms;
}
