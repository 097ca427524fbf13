#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/lib/cli/index.js');
} catch (err) {
  console.error('tcbackmap: the TypeScript build is missing (dist/lib/cli/index.js); run "npm run build" in the package folder');
  process.exit(1);
}
// A closed pipe (`tcbackmap energy … | head`) ends the command quietly, as Unix tools do.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
