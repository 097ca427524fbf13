#!/usr/bin/env node
// The training step a model file was written at (header.training.steps), or -1
// when the file cannot be read: how experiment.sh tells a finished run from one
// to resume, and track-run.sh a final model from an earlier kept one.
//   node scripts/model-steps.js MODEL.tcbm
'use strict';
const { readContainer } = require('../dist/lib/model/modelfile');

readContainer(process.argv[2]).then(
  (c) => console.log(c.header.training.steps),
  () => console.log(-1),
);
