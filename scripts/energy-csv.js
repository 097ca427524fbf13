// The per-frame totals (kJ/mol) of a `tcbackmap energy --out` CSV, for the
// robustness scripts (robustness-row.js, tail-rate.sh).
'use strict';
const fs = require('fs');

function totals(csv) {
  const [head, ...rows] = fs.readFileSync(csv, 'utf8').trim().split('\n');
  const col = head.split(',').indexOf('total');
  return rows.map((row) => Number(row.split(',')[col]));
}

module.exports = { totals };
