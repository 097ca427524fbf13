// What the commands share: a progress bar on stderr, SIGINT as an abort, and
// the result printed as one JSON object (--json) or one summary line.
import { progress } from '../core/progress';

/** A progress bar created on the first report (the total is known only then). */
export function lazyBar(label: string, json?: boolean) {
  let bar: ReturnType<typeof progress> | undefined;
  return {
    update(done: number, total: number) {
      bar ??= progress(label, total, 'frames', !json && process.stderr.isTTY === true);
      bar.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Runs `work` with SIGINT and SIGTERM turned into an abort of its signal (outputs are then discarded, not half-written). */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(abort.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Prints either the JSON object or the human summary line. */
export function report(json: boolean | undefined, result: object, summary: string): void {
  console.log(json ? JSON.stringify(result) : summary);
}
