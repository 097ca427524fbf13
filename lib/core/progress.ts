// Progress for long work: a bar with rate and ETA on a TTY, nothing otherwise
// (logs and --json output stay clean).
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** `done` units finished so far */
  update(done: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

/** `extra` is appended to the bar's line; its {tokens} are filled from update()'s `extra` values. */
export function progress(label: string, total: number, unit = 'frames', enabled = process.stderr.isTTY === true, extra = ''): Progress {
  if (!enabled || !(total > 0)) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}${extra ? ' | ' + extra : ''}`,
    stream: process.stderr,
    hideCursor: true,
    etaBuffer: 50,
    fps: 5,
  });
  const start = Date.now();
  bar.start(total, 0, { rate: '0' });
  return {
    update(done, extra) {
      const rate = done / Math.max((Date.now() - start) / 1000, 1e-3);
      bar.update(done, { rate: rate >= 100 ? rate.toFixed(0) : rate.toPrecision(3), ...extra });
    },
    stop() {
      bar.stop();
    },
  };
}
