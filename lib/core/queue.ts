// Heavy native jobs run one at a time: each libuv pool thread keeps its own
// OpenMP team, so concurrent torch jobs would oversubscribe the cores.
let tail: Promise<unknown> = Promise.resolve();

export function serialize<T>(job: () => Promise<T>): Promise<T> {
  const run = tail.then(job);
  tail = run.catch(() => undefined);
  return run;
}
