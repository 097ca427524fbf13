// The only door to the native addon: loaded once, lazily (~0.5–2 s and ~150 MB
// of libtorch), with an error that lists fixes when it cannot be loaded.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Binding } from '../../binding';
import { TcbmError } from './errors';

let binding: Binding | undefined;

/** The package folder: lib/ under ts-jest, dist/lib/ once compiled. */
export const packageRoot = ((): string => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'CMakeLists.txt'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..');
    dir = up;
  }
  return dir;
})();

/** The addon if it is loaded already, without loading it. */
export function nativeIfLoaded(): Binding | undefined {
  return binding;
}

export function native(): Binding {
  if (binding) return binding;
  // libtorch calls BLAS only for small matrices here (the convolutions are
  // mkldnn's or ours, parallel on OpenMP); a multi-threaded OpenBLAS would keep
  // a thread spinning on a core after every call, even while a job runs on
  // one thread. Read once, when libtorch loads; an explicit setting wins.
  process.env.OPENBLAS_NUM_THREADS ??= '1';
  // libtorch's c10d logs through glog to stderr (e.g. every failed connection
  // attempt): its failures reach users as our one-line errors instead. Read when
  // libtorch loads; an explicit setting wins.
  process.env.GLOG_minloglevel ??= '3';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => Binding;
    binding = load(packageRoot);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    const missing = /(lib(?:torch|torch_cpu|c10)\.so[\w.]*): cannot open shared object file/.exec(reason);
    if (missing) {
      const version = /\.so\.(\d+\.\d+)/.exec(missing[1])?.[1];
      throw new TcbmError(
        'ERR_ADDON_LOAD',
        `tcbackmap: the addon was built against libtorch${version ? ` ${version}` : ''}, whose ${missing[1]} is not installed here. ` +
          `Install it (Debian/Ubuntu: sudo apt-get install libtorch${version ?? ''}), or rebuild the addon against the libtorch you have ` +
          `(TCBM_BUILD_FROM_SOURCE=1 npm rebuild tcbackmap, with LIBTORCH set for one outside the system path).`,
      );
    }
    throw new TcbmError(
      'ERR_ADDON_LOAD',
      `tcbackmap: the native addon could not be loaded (${reason}). Fixes: ` +
        `build it with "npm run build"; install libtorch ("sudo apt-get install libtorch-dev", or run scripts/bootstrap.sh); ` +
        `for a libtorch outside the system path, set LIBTORCH and LD_LIBRARY_PATH=$LIBTORCH/lib before building and running.`,
    );
  }
  return binding;
}

/** This package's version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Threads for libtorch when the caller gives none: TCBM_THREADS, else every core. */
export function defaultThreads(): number {
  const fromEnv = Number(process.env.TCBM_THREADS);
  return Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : os.availableParallelism();
}
