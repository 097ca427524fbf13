// Embedding: a backmap running inside a worker_threads Worker that the host
// terminates mid-job must end the Worker only, never the host process, and
// must not leak: the Electron/Node case of an app cancelling a job by killing
// its worker.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../..');
const built = fs.existsSync(path.join(ROOT, 'dist/lib/index.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-worker-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// The host runs in its own process, so a crash shows as its exit status, not as a dead Jest worker.
const host = `
const { Worker } = require('worker_threads');
const path = require('path');
const [root, dir, rounds] = process.argv.slice(1);
const workerCode = \`
const { parentPort, workerData } = require('worker_threads');
const { Backmapper, coarseGrain } = require(workerData.root + '/dist/lib/index.js');
(async () => {
  const bm = await Backmapper.load(workerData.root + '/models/adp-cpu.tcbm', { threads: 1 });
  parentPort.postMessage('loaded');
  await bm.backmapFile(workerData.cg, workerData.out, { segments: 4, threads: 1 });
  parentPort.postMessage('finished');
})().catch((e) => parentPort.postMessage('error ' + e.message));
\`;
(async () => {
  const rss = [];
  for (let i = 0; i < Number(rounds); i++) {
    const w = new Worker(workerCode, { eval: true, workerData: { root, cg: path.join(dir, 'cg.dcd'), out: path.join(dir, 'out-' + i + '.dcd') } });
    await new Promise((resolve, reject) => {
      w.on('message', (m) => { if (m === 'loaded') setTimeout(resolve, 150 + 40 * (i % 5)); else if (m !== 'finished') reject(new Error(m)); });
      w.on('error', reject);
    });
    await w.terminate();
    global.gc?.();
    rss.push(process.memoryUsage().rss);
  }
  console.log(JSON.stringify({ rounds: rss.length, rss }));
})().catch((e) => { console.error(e); process.exit(2); });
`;

(built ? test : test.skip)('terminating a Worker mid-backmap 20 times leaves the host alive and its memory flat', () => {
  const cg = spawnSync(process.execPath, [path.join(ROOT, 'bin/tcbackmap.js'), 'coarse-grain', '--model', path.join(ROOT, 'models/adp-cpu.tcbm'),
    '--traj', path.join(ROOT, 'data/adp/test-1000.dcd'), '--out', path.join(dir, 'cg.dcd')], { encoding: 'utf8' });
  expect(cg.status).toBe(0);
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', host, ROOT, dir, '20'], { encoding: 'utf8', timeout: 300_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const { rounds, rss } = JSON.parse(r.stdout) as { rounds: number; rss: number[] };
  expect(rounds).toBe(20);
  // After the first few rounds (libtorch's lazily built state, allocator pools) memory stays flat.
  expect(rss[19] - rss[4]).toBeLessThan(50 << 20);
  // No output and no temp file from the cancelled jobs.
  expect(fs.readdirSync(dir).filter((f) => f !== 'cg.dcd')).toEqual([]);
}, 320_000);
