#!/usr/bin/env node
// `npm run prebuild`: a N-API prebuild in prebuilds/<platform>-<arch>/, which
// node-gyp-build loads when no local build/Release exists.
//
// npm also runs a script named "prebuild" before every `npm run build`, with an
// identical environment; only npm's own command line tells the two apart, so the
// pre-hook case is recognised there and skipped (a rebuild there would double
// every build).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function npmCommandLine() {
  let pid = process.ppid;
  for (let depth = 0; depth < 6 && pid > 1; depth++) {
    let args;
    try {
      // npm sets its process title to one string ("npm run build"), so split on spaces too
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0\s]+/).filter(Boolean);
    } catch {
      return null; // no /proc: not Linux; assume a direct call
    }
    if (args.some((a) => /(^|\/)npm(-cli\.js)?$/.test(a))) return args;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return null;
}

const args = npmCommandLine();
if (args && args.includes('build') && !args.includes('prebuild')) process.exit(0);

const root = path.resolve(__dirname, '..');
const result = spawnSync(
  process.execPath,
  [require.resolve('prebuildify/bin.js'), '--napi', '--strip', '--node-gyp', path.join(__dirname, 'prebuild-node-gyp.js')],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status === null ? 1 : result.status);
