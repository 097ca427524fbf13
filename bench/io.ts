// Trajectory I/O throughput: our DCD and XTC writers and streaming readers vs
// mdtraj on the same files, in one run, plus the peak RSS of a process that
// streams a million-frame XTC. Files are ADP frames repeated; they go to
// os.tmpdir() and are removed at the end.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createTrajectory, readTrajectory } from '../lib/io/trajectory';
import { packageRoot } from '../lib/core/native';
import { PYTHON, table } from './common';

export interface IoBenchOptions {
  threads: number;
  /** frames of the large XTC; the DCD gets a fifth of them */
  frames: number;
}

interface Rate {
  frames: number;
  seconds: number;
  fps: number;
}

interface ChildRead extends Rate {
  baseMb: number;
  peakMb: number;
}

// The chunk size of the streaming reads, ours and mdtraj's alike.
const CHUNK = 1024;
// Frames per write() call while generating: what a converter holding one chunk does.
const WRITE_CHUNK = 10_000;

function sourceFile(): string {
  const shared = path.resolve(packageRoot, '..', 'shared', 'data', 'adp', 'test.dcd');
  return fs.existsSync(shared) ? shared : path.join(packageRoot, 'data', 'adp', 'test-1000.dcd');
}

async function writeRepeated(file: string, coords: Float32Array, atoms: number, frames: number): Promise<Rate> {
  const have = coords.length / (atoms * 3);
  // One block of WRITE_CHUNK frames cycling through the source, written over and over.
  const block = new Float32Array(Math.min(WRITE_CHUNK, frames) * atoms * 3);
  for (let f = 0; f < block.length / (atoms * 3); f++) block.set(coords.subarray((f % have) * atoms * 3, ((f % have) + 1) * atoms * 3), f * atoms * 3);
  const per = block.length / (atoms * 3);
  const start = process.hrtime.bigint();
  const w = await createTrajectory(file, { atoms });
  for (let done = 0; done < frames; ) {
    const n = Math.min(per, frames - done);
    await w.write({ frames: n, coords: block.subarray(0, n * atoms * 3) });
    done += n;
  }
  await w.close();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { frames, seconds, fps: frames / seconds };
}

function ourRead(file: string, threads: number): ChildRead {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'io_read.js'), file, String(CHUNK)], {
    encoding: 'utf8',
    env: { ...process.env, TCBM_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`streaming read of ${file} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ChildRead;
}

let mdtrajMissing = false;
function mdtraj<T>(args: string[]): T | null {
  if (mdtrajMissing) return null;
  const r = spawnSync(PYTHON, [path.join(__dirname, '..', '..', 'bench', 'io_mdtraj.py'), ...args], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    mdtrajMissing = true;
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').slice(-1)[0];
    console.log(`  (mdtraj side skipped: ${why}; apt install python3-mdtraj)`);
    return null;
  }
  return JSON.parse(r.stdout) as T;
}

const mb = (file: string): string => `${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB`;

export async function benchIo({ threads, frames }: IoBenchOptions): Promise<Record<string, number>> {
  const src = sourceFile();
  const ref = await readTrajectory(src);
  const atoms = ref.atoms;
  const dcdFrames = Math.max(1, Math.round(frames / 5));
  // mdtraj's writers take one in-memory array per call: it writes the source frames repeated to this many.
  const mdWriteRepeats = Math.max(1, Math.round(dcdFrames / ref.frames));
  console.log(
    `\ntrajectory I/O, ADP (${atoms} atoms), frames of ${path.relative(process.cwd(), src)} (${ref.frames}) repeated; ` +
      `streaming reads in chunks of ${CHUNK} frames, XTC codec on ${threads} threads`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcbm-bench-io-'));
  const xtc = path.join(dir, `adp-${frames}.xtc`);
  const dcd = path.join(dir, `adp-${dcdFrames}.dcd`);
  const prevThreads = process.env.TCBM_THREADS;
  process.env.TCBM_THREADS = String(threads); // the XTC writer's codec threads (defaultThreads)
  try {
    const ours = {
      xtcWrite: await writeRepeated(xtc, ref.coords, atoms, frames),
      dcdWrite: await writeRepeated(dcd, ref.coords, atoms, dcdFrames),
      xtcRead: ourRead(xtc, threads),
      dcdRead: ourRead(dcd, threads),
    };
    console.log(`  files: ${frames.toLocaleString('en')}-frame XTC ${mb(xtc)}, ${dcdFrames.toLocaleString('en')}-frame DCD ${mb(dcd)}`);
    const md = {
      xtcRead: mdtraj<Rate>(['read', xtc, String(CHUNK)]),
      dcdRead: mdtraj<Rate>(['read', dcd, String(CHUNK)]),
      xtcWrite: mdtraj<Rate>(['write', src, path.join(dir, 'md.xtc'), String(mdWriteRepeats)]),
      dcdWrite: mdtraj<Rate>(['write', src, path.join(dir, 'md.dcd'), String(mdWriteRepeats)]),
    };
    const kfps = (r: Rate | null): string => (r ? (r.fps / 1e3).toFixed(0) : '-');
    const ratio = (a: Rate, b: Rate | null): string => (b ? (a.fps / b.fps).toFixed(2) : '-');
    const row = (label: string, a: Rate, b: Rate | null, goal: string): string[] => [
      label, `${a.frames.toLocaleString('en')}`, kfps(a), b ? b.frames.toLocaleString('en') : '-', kfps(b), ratio(a, b), goal,
    ];
    table([
      ['operation', 'our frames', 'ours kfr/s', 'mdtraj frames', 'mdtraj kfr/s', 'ours / mdtraj', 'goal'],
      row('XTC read (stream)', ours.xtcRead, md.xtcRead, '>= 0.5'),
      row('XTC write', ours.xtcWrite, md.xtcWrite, ''),
      row('DCD read (stream)', ours.dcdRead, md.dcdRead, '>= 1'),
      row('DCD write', ours.dcdWrite, md.dcdWrite, ''),
    ]);
    console.log(
      `  peak RSS of a process streaming the ${frames.toLocaleString('en')}-frame XTC: ${ours.xtcRead.peakMb.toFixed(0)} MB ` +
        `(${ours.xtcRead.baseMb.toFixed(0)} MB after loading the addon and opening the file; goal < 300 MB); ` +
        `DCD stream ${ours.dcdRead.peakMb.toFixed(0)} MB`,
    );
    const out: Record<string, number> = {
      'ours xtc read fps': ours.xtcRead.fps, 'ours xtc write fps': ours.xtcWrite.fps,
      'ours dcd read fps': ours.dcdRead.fps, 'ours dcd write fps': ours.dcdWrite.fps,
      'ours xtc stream peak MB': ours.xtcRead.peakMb,
    };
    for (const [k, v] of Object.entries(md)) if (v) out[`mdtraj ${k} fps`] = v.fps;
    return out;
  } finally {
    if (prevThreads === undefined) delete process.env.TCBM_THREADS;
    else process.env.TCBM_THREADS = prevThreads;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
