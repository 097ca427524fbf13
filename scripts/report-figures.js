#!/usr/bin/env node
// Copies plots out of a `tcbackmap evaluate` report as standalone SVG files,
// for the README's Results:
//
//   node scripts/report-figures.js REPORT_DIR OUT_DIR PREFIX [SECTION ...]
//
// SECTION is the title of a report section (default: Energy, Free-energy
// surface, Kinetics, Temporal coherence); the first plot of each is written to
// OUT_DIR/PREFIX-<slug>.svg.
'use strict';
const fs = require('fs');
const path = require('path');

const [report, out, prefix, ...wanted] = process.argv.slice(2);
if (!report || !out || !prefix) {
  console.error('usage: node scripts/report-figures.js REPORT_DIR OUT_DIR PREFIX [SECTION ...]');
  process.exit(2);
}
const sections = wanted.length ? wanted : ['Energy', 'Free-energy surface', 'Kinetics', 'Temporal coherence'];
const html = fs.readFileSync(path.join(report, 'index.html'), 'utf8');
fs.mkdirSync(out, { recursive: true });

for (const title of sections) {
  const h = html.indexOf(`<h2>${title}`);
  if (h < 0) throw new Error(`${report}: no section "${title}"`);
  const start = html.indexOf('<svg', h);
  const next = html.indexOf('<h2>', h + 4);
  if (start < 0 || (next >= 0 && start > next)) throw new Error(`${report}: section "${title}" has no plot`);
  const end = html.indexOf('</svg>', start) + '</svg>'.length;
  let svg = html.slice(start, end);
  if (!svg.includes('xmlns=')) svg = svg.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"');
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const file = path.join(out, `${prefix}-${slug}.svg`);
  fs.writeFileSync(file, svg + '\n');
  console.log(`${file} (${(svg.length / 1024).toFixed(0)} kB)`);
}
