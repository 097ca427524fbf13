#!/usr/bin/env node
// npm's install step: use the prebuilt addon when one matches this platform
// (prebuilds/<platform>-<arch>/, linked against the system's libtorch 1.13),
// else compile it with cmake-js, saying so first: that takes minutes.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const say = (line) => {
  process.stderr.write(`tcbackmap: ${line}\n`);
  // npm hides install scripts' output unless they fail; a terminal still sees this
  try {
    fs.writeFileSync('/dev/tty', `tcbackmap: ${line}\n`);
  } catch {
    /* no terminal */
  }
};

let prebuilt = null;
try {
  prebuilt = require('node-gyp-build').path(root);
} catch {
  prebuilt = null;
}
if (prebuilt && !process.env.TCBM_BUILD_FROM_SOURCE) {
  say(`using the prebuilt addon ${path.relative(root, prebuilt)}`);
  process.exit(0);
}
say(`no prebuilt addon for ${process.platform}-${process.arch}: compiling it with cmake-js against libtorch (2-5 minutes)…`);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  say('compiling the addon failed. It needs cmake, a C++17 compiler and libtorch (Debian: sudo apt-get install cmake g++ libtorch-dev); scripts/bootstrap.sh installs them.');
}
process.exit(r.status === null ? 1 : r.status);
