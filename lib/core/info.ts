// What this install runs on: package and libtorch versions, device, threads.
import { defaultThreads, native, packageVersion } from './native';

export interface Info {
  version: string;
  torchVersion: string;
  cuda: boolean;
  /** Threads libtorch jobs use by default (TCBM_THREADS or every core). */
  threads: number;
  /** libtorch's own report of its parallel backend. */
  parallel: string;
}

export function info(): Info {
  const n = native().info();
  return { version: packageVersion(), torchVersion: n.torchVersion, cuda: n.cuda, threads: defaultThreads(), parallel: n.parallel };
}
