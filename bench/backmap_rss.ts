// Child process of the backmap benchmark: backmaps a CG file and reports its
// own peak RSS (VmHWM) and RSS at checkpoints, so the parent measures memory
// of exactly one backmapping run.
import * as fs from 'fs';
import { Backmapper } from '../lib/inference/backmap';
import { createTrajectory, openTrajectory } from '../lib/io/trajectory';

function rssMb(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const [model, cg, out, segments, threads] = process.argv.slice(2);
  const bm = await Backmapper.load(model, { threads: Number(threads) });
  const reader = await openTrajectory(cg);
  const writer = await createTrajectory(out, { atoms: bm.atoms });
  const samples: [number, number][] = [];
  let next = 0;
  const start = Date.now();
  let frames = 0;
  for await (const chunk of bm.backmap(reader, {
    segments: Number(segments),
    onProgress: (done) => {
      if (done >= next) {
        samples.push([done, rssMb('VmRSS')]);
        next = done + 2000;
      }
    },
  })) {
    await writer.write(chunk);
    frames += chunk.frames;
  }
  await writer.close();
  await reader.close();
  console.log(JSON.stringify({ frames, seconds: (Date.now() - start) / 1000, peakMb: rssMb('VmHWM'), samples }));
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
