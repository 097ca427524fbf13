// Child process of the I/O benchmark: streams one trajectory with chunks() and
// reports frames/s and its own peak RSS (VmHWM), so the parent measures the
// memory of exactly one streaming read, addon and libtorch included.
import * as fs from 'fs';
import { openTrajectory } from '../lib/io/trajectory';

function statusMb(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const [file, chunk] = process.argv.slice(2);
  const reader = await openTrajectory(file);
  const baseMb = statusMb('VmRSS');
  const start = process.hrtime.bigint();
  let frames = 0;
  let checksum = 0;
  for await (const c of reader.chunks(Number(chunk))) {
    frames += c.frames;
    checksum += c.coords[c.coords.length - 1]; // touch the data so nothing is skipped
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await reader.close();
  console.log(JSON.stringify({ frames, seconds, fps: frames / seconds, baseMb, peakMb: statusMb('VmHWM'), checksum }));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
