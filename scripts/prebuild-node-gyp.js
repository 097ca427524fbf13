#!/usr/bin/env node
// prebuildify has no cmake-js backend: it runs "<node-gyp> rebuild --target=… --release".
// This stands in for node-gyp, ignores those arguments and builds with cmake-js
// into build/Release, where prebuildify picks the addon up.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'rebuild'], {
  cwd: path.resolve(__dirname, '..'),
  stdio: 'inherit',
});
process.exit(result.status === null ? 1 : result.status);
