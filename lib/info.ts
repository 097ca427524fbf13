// What this install runs on: package and libtorch versions, device, threads.
import * as fs from 'fs';
import * as path from 'path';
import { defaultThreads, native, packageRoot } from './native';

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
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  const n = native().info();
  return { version: pkg.version, torchVersion: n.torchVersion, cuda: n.cuda, threads: defaultThreads(), parallel: n.parallel };
}
