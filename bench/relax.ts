// backmap --relax: the refinement's cost per frame on one thread, and the
// rollout's frames/s with and without it (the issue: ≥ 50 % kept for ADP),
// with the shipped models and the bundled data.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Backmapper } from '../lib/inference/backmap';
import { coarseGrain } from '../lib/inference/coarsegrain';
import { packageRoot } from '../lib/core/native';
import { DEMO_SETS } from '../lib/cli/demo';
import { table } from './common';

const CASES = [
  ['adp', 'adp-cpu.tcbm', 'adp/test-1000.dcd', DEMO_SETS.adp.relax],
  ['chignolin', 'cln-cpu.tcbm', 'chignolin/test-200.dcd', DEMO_SETS.cln.relax],
] as const;

export async function benchRelax(): Promise<void> {
  console.log('\nbackmap --relax with each molecule\'s measured settings (demo --relax; README), 1 thread, shipped models, bundled frames');
  for (const [name, , , settings] of CASES) console.log(`  ${name}: ${JSON.stringify(settings)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-bench-relax-'));
  const rows: (string | number)[][] = [['molecule', 'frames', 'frames/s raw', 'frames/s --relax', 'relax ms/frame', 'kept']];
  try {
    for (const [name, model, traj, settings] of CASES) {
      const cg = path.join(dir, `${name}-cg.dcd`);
      const modelFile = path.join(packageRoot, 'models', model);
      const r = await coarseGrain({ model: modelFile, traj: path.join(packageRoot, 'data', traj), out: cg });
      const bm = await Backmapper.load(modelFile, { threads: 1 });
      await bm.backmapFile(cg, path.join(dir, 'warm.dcd')); // first-use costs (Winograd filters, allocator)
      const raw = await bm.backmapFile(cg, path.join(dir, `${name}-raw.dcd`));
      const { exactCg, ...relax } = settings;
      const relaxed = await bm.backmapFile(cg, path.join(dir, `${name}-relax.dcd`), { exactCg, relax });
      const fpsRaw = r.frames / raw.seconds;
      const fpsRelax = r.frames / relaxed.seconds;
      rows.push([name, r.frames, fpsRaw, fpsRelax, (1000 * (relaxed.seconds - raw.seconds)) / r.frames, `${((100 * fpsRelax) / fpsRaw).toFixed(0)} %`]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  table(rows);
}
