// The malformed-input corpus, generated from the bundled ADP data and model (no
// hand-made files): every trajectory format cut at its structural boundaries and
// at random offsets, flipped structural bytes, wrong atom counts, NaN and Inf,
// zero frames, damaged models and checkpoints, bad mappings and System XML, and
// outputs that collide with inputs or cannot be written. Each case is one CLI
// run that must fail with one line naming the file and the frame or field.
import * as fs from 'fs';
import * as path from 'path';
import { topologyFromPdb } from '../../lib/io/pdb';
import { createTrajectory, readTrajectory } from '../../lib/io/trajectory';
import { rng } from '../support/helpers';

export interface CorpusCase {
  name: string;
  /** the command line after `tcbackmap` */
  args: string[];
  /** what the one-line message must match (the file, and the frame or field where known) */
  expect: RegExp;
  /** the folder outputs would go to: it must hold nothing new afterwards */
  outDir: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The message names this file (by its base name) and, when given, the frame. */
const names = (file: string, frame?: number) => new RegExp(`${escape(path.basename(file))}.*${frame === undefined ? '' : `frame ${frame}\\b`}`);

/** Byte offsets where each XTC frame starts (from each frame's byte count). */
function xtcFrameStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    starts.push(pos);
    const n = buf.readUInt32BE(pos + 88);
    pos += 92 + Math.ceil(n / 4) * 4;
  }
  return starts;
}

/** `fullDir`: a folder on a filesystem too small for the outputs (a 4 KiB tmpfs), when one could be mounted. */
export async function makeCorpus(root: string, dir: string, fullDir?: string): Promise<CorpusCase[]> {
  const data = path.join(root, 'data/adp');
  const src = (f: string) => path.join(dir, f);
  const out = path.join(dir, 'out');
  fs.mkdirSync(out, { recursive: true });
  for (const f of ['adp.pdb', 'system-vacuum.xml']) fs.copyFileSync(path.join(data, f), src(f));
  fs.copyFileSync(path.join(root, 'models/adp-cpu.tcbm'), src('model.tcbm'));
  const top = src('adp.pdb');
  const xml = src('system-vacuum.xml');
  const model = src('model.tcbm');

  // 20 atomistic frames and their CG beads (atoms 4, 6, 8, 10, 14, 16 of the adp mapping), in each format
  const all = await readTrajectory(path.join(data, 'test-1000.dcd'), { atoms: 22 });
  const F = 20;
  const aa = all.coords.slice(0, F * 22 * 3);
  const beads = [4, 6, 8, 14, 16, 10];
  const cgCoords = new Float32Array(F * 6 * 3);
  for (let f = 0; f < F; f++) beads.forEach((a, b) => cgCoords.set(aa.subarray((f * 22 + a) * 3, (f * 22 + a) * 3 + 3), (f * 6 + b) * 3));
  const topo = await topologyFromPdb(top);
  const write = async (file: string, coords: Float32Array, atoms: number) => {
    const w = await createTrajectory(file, { atoms, topology: atoms === 22 ? topo : undefined });
    await w.write({ atoms, frames: coords.length / (atoms * 3), coords, start: 0 });
    await w.close();
  };
  await write(src('aa.dcd'), aa, 22);
  await write(src('aa.xtc'), aa, 22);
  await write(src('aa.pdb'), aa, 22);
  await write(src('cg.dcd'), cgCoords, 6);
  await write(src('cg.xtc'), cgCoords, 6);

  const cases: CorpusCase[] = [];
  const o = (f: string) => path.join(out, f);
  /** every command that reads an atomistic trajectory */
  const aaCommands = (file: string, expect: RegExp, label: string) => {
    cases.push({ name: `convert ${label}`, args: ['convert', '--top', top, '--traj', file, '--out', o('c.dcd')], expect, outDir: out });
    cases.push({ name: `energy ${label}`, args: ['energy', '--top', top, '--system', xml, '--traj', file, '--out', o('e.csv')], expect, outDir: out });
    cases.push({ name: `coarse-grain ${label}`, args: ['coarse-grain', '--model', model, '--traj', file, '--out', o('cg.dcd')], expect, outDir: out });
    cases.push({ name: `evaluate ${label}`, args: ['evaluate', '--top', top, '--system', xml, '--ref', src('aa.dcd'), '--traj', file, '--out', o('report')], expect, outDir: out });
  };
  const cgCommands = (file: string, expect: RegExp, label: string) => {
    cases.push({ name: `backmap ${label}`, args: ['backmap', '--model', model, '--cg', file, '--out', o('b.dcd')], expect, outDir: out });
  };
  const variant = (name: string, bytes: Buffer) => {
    const file = src(name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const random = rng(20261128);

  // ---- DCD cut at every header boundary, inside frames, and at random offsets (never at a frame boundary: that is a valid shorter file)
  for (const [label, base, atoms, commands] of [['aa', src('aa.dcd'), 22, aaCommands], ['cg', src('cg.dcd'), 6, cgCommands]] as const) {
    const buf = fs.readFileSync(base);
    const frameBytes = 3 * (8 + 4 * atoms);
    const headerBytes = buf.length - F * frameBytes;
    const cuts = new Set<number>([0, 2, 4, 8, 50, 88, 92, 96, 100, headerBytes - 12, headerBytes - 8, headerBytes - 4]);
    for (const k of [0, 7, 19]) for (const d of [2, 4, 40, frameBytes - 4]) cuts.add(headerBytes + k * frameBytes + d);
    while (cuts.size < 28) {
      const c = Math.floor(random() * buf.length);
      if (c > headerBytes && (c - headerBytes) % frameBytes === 0) continue;
      cuts.add(c);
    }
    for (const c of cuts) {
      const file = variant(`${label}-cut-${c}.dcd`, buf.subarray(0, c));
      const frame = c > headerBytes ? Math.floor((c - headerBytes) / frameBytes) : undefined;
      commands(file, names(file, frame), `DCD cut at byte ${c}`);
    }
    // flipped structural bytes: the leading record marker, the CORD magic, the atom count, a frame's record marker
    for (const [at, what] of [[0, 'first record marker'], [5, 'CORD signature'], [headerBytes - 8, 'atom count'], [headerBytes + 3 * frameBytes, 'frame 3 record marker']] as const) {
      const bytes = Buffer.from(buf);
      bytes[at] ^= 0x5a;
      const file = variant(`${label}-flip-${at}.dcd`, bytes);
      commands(file, names(file), `DCD with a flipped ${what}`);
    }
  }

  // ---- XTC cut inside the first frame's fields, inside later frames, and at random offsets
  {
    const buf = fs.readFileSync(src('aa.xtc'));
    const starts = xtcFrameStarts(buf);
    const boundaries = new Set(starts);
    const cuts = new Set<number>([2, 4, 8, 12, 40, 56, 60, 72, 84, 88, 92, 120]);
    for (const k of [5, 19]) cuts.add(starts[k] + 30).add(starts[k] + 100);
    while (cuts.size < 24) {
      const c = 1 + Math.floor(random() * (buf.length - 1));
      if (!boundaries.has(c)) cuts.add(c);
    }
    for (const c of cuts) {
      const file = variant(`aa-cut-${c}.xtc`, buf.subarray(0, c));
      const frame = starts.filter((s) => s <= c).length - 1;
      aaCommands(file, names(file, frame), `XTC cut at byte ${c}`);
    }
    for (const [at, what] of [[0, 'magic number'], [7, 'atom count'], [starts[4] + 3, 'frame 4 magic number'], [starts[9] + 91, 'frame 9 byte count']] as const) {
      const bytes = Buffer.from(buf);
      bytes[at] ^= 0x5a;
      const file = variant(`aa-flip-${at}.xtc`, bytes);
      aaCommands(file, names(file), `XTC with a flipped ${what}`);
    }
  }

  // ---- PDB cut mid-record and with broken records
  {
    const text = fs.readFileSync(src('aa.pdb'), 'utf8');
    const lines = text.split('\n');
    const atomLine = lines.findIndex((l) => l.startsWith('ATOM'));
    for (const frac of [0.13, 0.5, 0.87]) {
      const c = Math.floor(text.length * frac);
      const cut = text.slice(0, c);
      const line = cut.lastIndexOf('\n');
      const file = variant(`aa-cut-${c}.pdb`, Buffer.from(cut.slice(0, line + 1 + 20)));
      cases.push({ name: `convert PDB cut at byte ${c}`, args: ['convert', '--top', top, '--traj', file, '--out', o('c.dcd')], expect: names(file), outDir: out });
      cases.push({ name: `energy PDB cut at byte ${c}`, args: ['energy', '--top', top, '--system', xml, '--traj', file, '--out', o('e.csv')], expect: names(file), outDir: out });
    }
    const broken = (label: string, edit: (ls: string[]) => void) => {
      const ls = [...lines];
      edit(ls);
      const file = variant(`aa-${label}.pdb`, Buffer.from(ls.join('\n')));
      cases.push({ name: `convert PDB ${label}`, args: ['convert', '--top', top, '--traj', file, '--out', o('c.dcd')], expect: names(file), outDir: out });
      cases.push({ name: `coarse-grain PDB ${label}`, args: ['coarse-grain', '--model', model, '--traj', file, '--out', o('cg.dcd')], expect: names(file), outDir: out });
    };
    broken('letters-in-x', (ls) => (ls[atomLine + 3] = ls[atomLine + 3].slice(0, 30) + '  abc.def' + ls[atomLine + 3].slice(39)));
    broken('nan-coordinate', (ls) => (ls[atomLine + 5] = ls[atomLine + 5].slice(0, 38) + '     nan' + ls[atomLine + 5].slice(46)));
    broken('missing-atom', (ls) => ls.splice(atomLine + 200, 1));
    broken('short-atom-line', (ls) => (ls[atomLine + 40] = ls[atomLine + 40].slice(0, 35)));
  }

  // ---- NaN and Inf coordinates at a known frame (our writers refuse them, so the bytes are patched)
  /** A copy of a DCD of `atoms` atoms with y of atom `atom` in frame `frame` set to `value`. */
  const patchDcd = (base: string, name: string, atoms: number, frame: number, atom: number, value: number) => {
    const bytes = Buffer.from(fs.readFileSync(base));
    const frameBytes = 3 * (8 + 4 * atoms);
    const headerBytes = bytes.length - F * frameBytes;
    bytes.writeFloatLE(value, headerBytes + frame * frameBytes + (8 + 4 * atoms) + 4 + 4 * atom);
    return variant(name, bytes);
  };
  for (const [label, value] of [['nan', NaN], ['inf', Infinity], ['-inf', -Infinity]] as const) {
    const file = patchDcd(src('aa.dcd'), `aa-${label}.dcd`, 22, 7, 3, value);
    aaCommands(file, names(file, 7), `DCD with ${label} at frame 7`);
    const cg = patchDcd(src('cg.dcd'), `cg-${label}.dcd`, 6, 11, 2, value);
    cgCommands(cg, names(cg, 11), `CG DCD with ${label} at frame 11`);
  }
  // XTC stores integers: a non-finite coordinate cannot be written, and converting one into XTC is refused naming the input's frame
  cases.push({ name: 'convert a NaN frame into XTC', args: ['convert', '--top', top, '--traj', src('aa-nan.dcd'), '--out', o('x.xtc')], expect: names(src('aa-nan.dcd'), 7), outDir: out });

  // ---- zero-frame files
  {
    const dcd = fs.readFileSync(src('aa.dcd'));
    const header = dcd.subarray(0, dcd.length - F * 3 * (8 + 4 * 22));
    const zero = variant('aa-zero.dcd', header);
    aaCommands(zero, names(zero), 'DCD with zero frames');
    const cgDcd = fs.readFileSync(src('cg.dcd'));
    const cgZero = variant('cg-zero.dcd', cgDcd.subarray(0, cgDcd.length - F * 3 * (8 + 4 * 6)));
    cgCommands(cgZero, names(cgZero), 'CG DCD with zero frames');
    const emptyXtc = variant('aa-empty.xtc', Buffer.alloc(0));
    aaCommands(emptyXtc, names(emptyXtc), 'empty XTC');
    const emptyPdb = variant('aa-empty.pdb', Buffer.from('REMARK nothing here\nEND\n'));
    cases.push({ name: 'convert PDB without atoms', args: ['convert', '--top', top, '--traj', emptyPdb, '--out', o('c.dcd')], expect: names(emptyPdb), outDir: out });
  }

  // ---- wrong atom counts
  {
    const cln = path.join(root, 'data/chignolin/cln.pdb');
    cases.push({ name: 'convert ADP frames with the chignolin topology', args: ['convert', '--top', cln, '--traj', src('aa.dcd'), '--out', o('c.dcd')], expect: /aa\.dcd: has 22 atoms/, outDir: out });
    cases.push({ name: 'energy ADP frames with the chignolin System', args: ['energy', '--top', top, '--system', path.join(root, 'data/chignolin/system-vacuum.xml'), '--traj', src('aa.dcd')], expect: /system-vacuum\.xml|adp\.pdb/, outDir: out });
    cases.push({ name: 'coarse-grain CG beads as atoms', args: ['coarse-grain', '--model', model, '--traj', src('cg.dcd'), '--out', o('cg2.dcd')], expect: /cg\.dcd: has 6 atoms/, outDir: out });
    cgCommands(src('aa.dcd'), /aa\.dcd.*22/, 'atomistic frames given as CG beads');
    cgCommands(src('aa.xtc'), /aa\.xtc.*22/, 'atomistic XTC given as CG beads');
    cases.push({ name: 'evaluate with reference and backmapped of different molecules', args: ['evaluate', '--top', top, '--system', xml, '--ref', src('aa.dcd'), '--traj', src('cg.dcd'), '--out', o('report')], expect: /cg\.dcd.*6 atoms/, outDir: out });
  }

  // ---- damaged model files and checkpoints
  {
    const buf = fs.readFileSync(model);
    const headerLength = buf.readUInt32LE(12);
    const json = buf.toString('utf8', 20, 20 + headerLength);
    const sigmaAt = 20 + Buffer.byteLength(json.slice(0, json.indexOf('"sigma":') + 9));
    const latentAt = 20 + Buffer.byteLength(json.slice(0, json.indexOf('"latent":') + 9));
    const edits: [string, (b: Buffer) => Buffer][] = [
      ['empty', () => Buffer.alloc(0)],
      ['no-signature', (b) => Buffer.concat([Buffer.from('NOTMODEL'), b.subarray(8)])],
      ['newer-format', (b) => (b.writeUInt32LE(99, 8), b)],
      ['header-length-too-large', (b) => (b.writeUInt32LE(b.length * 2, 12), b)],
      ['sigma-digit-changed', (b) => ((b[sigmaAt + 3] = b[sigmaAt + 3] === 0x37 ? 0x38 : 0x37), b)],
      ['latent-digit-changed', (b) => ((b[latentAt] = b[latentAt] === 0x31 ? 0x32 : 0x31), b)],
      ['header-cut', (b) => b.subarray(0, 20 + Math.floor(headerLength / 2))],
      ['weights-byte-flipped', (b) => ((b[20 + headerLength + 1000] ^= 0xff), b)],
      ['seed-bank-byte-flipped', (b) => ((b[b.length - 10] ^= 0xff), b)],
      ['cut-in-weights', (b) => b.subarray(0, 20 + headerLength + 5000)],
      ['cut-in-last-section', (b) => b.subarray(0, b.length - 7)],
    ];
    for (const [label, edit] of edits) {
      const file = variant(`model-${label}.tcbm`, edit(Buffer.from(buf)));
      cases.push({ name: `backmap with a model: ${label}`, args: ['backmap', '--model', file, '--cg', src('cg.dcd'), '--out', o('b.dcd')], expect: names(file), outDir: out });
      cases.push({ name: `coarse-grain with a model: ${label}`, args: ['coarse-grain', '--model', file, '--traj', src('aa.dcd'), '--out', o('cg.dcd')], expect: names(file), outDir: out });
    }
    const train = (resume: string) => ['train', '--top', top, '--traj', src('aa.dcd'), '--system', xml, '--map', 'adp', '--preset', 'tiny', '--steps', '2', '--resume', resume, '--out', o('m.tcbm')];
    for (const [label, file] of [
      ['a model, not a checkpoint', model],
      ['a checkpoint with a flipped byte', variant('ckpt-flipped.tcbm', ((b) => ((b[b.length - 100] ^= 0xff), b))(Buffer.from(buf)))],
      ['an empty checkpoint', variant('ckpt-empty.tcbm', Buffer.alloc(0))],
      ['a trajectory as checkpoint', src('aa.dcd')],
    ] as const) {
      cases.push({ name: `train --resume ${label}`, args: train(file), expect: names(file), outDir: out });
    }
  }

  // ---- mappings with bad indices
  const trainMap = (map: string) => ['train', '--top', top, '--traj', src('aa.dcd'), '--system', xml, '--map', map, '--preset', 'tiny', '--steps', '1', '--out', o('m.tcbm')];
  for (const [label, beadsSpec] of [
    ['index out of range', { beads: [{ name: 'B1', atoms: [0, 99] }] }],
    ['negative index', { beads: [{ name: 'B1', atoms: [-1] }] }],
    ['fractional index', { beads: [{ name: 'B1', atoms: [1.5] }] }],
    ['unknown atom name', { beads: [{ name: 'B1', atoms: ['2:XX'] }] }],
    ['empty bead', { beads: [{ name: 'B1', atoms: [] }] }],
    ['no beads', { beads: [] }],
    ['not an object', [1, 2, 3]],
  ] as const) {
    const file = variant(`map-${label.replace(/ /g, '-')}.json`, Buffer.from(JSON.stringify(beadsSpec)));
    cases.push({ name: `train with a mapping: ${label}`, args: trainMap(file), expect: names(file), outDir: out });
  }
  const notJson = variant('map-not-json.json', Buffer.from('{"beads": [ {"name": '));
  cases.push({ name: 'train with a mapping that is not JSON', args: trainMap(notJson), expect: names(notJson), outDir: out });

  // ---- System XML with missing forces, particles or structure
  {
    const text = fs.readFileSync(xml, 'utf8');
    const edits: [string, (t: string) => string][] = [
      ['one particle fewer', (t) => t.replace(/<Particle [^>]*\/>\s*/, '')],
      ['no Particles', (t) => t.replace(/<Particles>[\s\S]*?<\/Particles>/, '<Particles></Particles>')],
      ['no Forces', (t) => t.replace(/<Forces>[\s\S]*<\/Forces>/, '<Forces></Forces>')],
      ['cut in half', (t) => t.slice(0, Math.floor(t.length / 2))],
      ['a bond to atom 99', (t) => t.replace(/<Bond ([^>]*?)p2="\d+"/, '<Bond $1p2="99"')],
      ['not XML', () => 'this is not XML'],
      ['a bond length that is not a number', (t) => t.replace(/<Bond ([^>]*?)d="[^"]*"/, '<Bond $1d="abc"')],
    ];
    for (const [label, edit] of edits) {
      const file = variant(`system-${label.replace(/ /g, '-')}.xml`, Buffer.from(edit(text)));
      cases.push({ name: `energy with a System XML: ${label}`, args: ['energy', '--top', top, '--system', file, '--traj', src('aa.dcd'), '--out', o('e.csv')], expect: names(file), outDir: out });
    }
  }

  // ---- outputs that collide with inputs, are folders, or cannot be written
  {
    const collide: [string, string[], string][] = [
      ['backmap --out = --cg', ['backmap', '--model', model, '--cg', src('cg.dcd'), '--out', src('cg.dcd')], 'cg.dcd'],
      ['backmap --out = --model', ['backmap', '--model', model, '--cg', src('cg.dcd'), '--out', model], 'model.tcbm'],
      ['convert --out = --traj', ['convert', '--top', top, '--traj', src('aa.dcd'), '--out', src('aa.dcd')], 'aa.dcd'],
      ['convert --out = --top', ['convert', '--top', top, '--traj', src('aa.dcd'), '--out', top], 'adp.pdb'],
      ['coarse-grain --out = --traj', ['coarse-grain', '--model', model, '--traj', src('aa.dcd'), '--out', src('aa.dcd')], 'aa.dcd'],
      ['energy --out = --system', ['energy', '--top', top, '--system', xml, '--traj', src('aa.dcd'), '--out', xml], 'system-vacuum.xml'],
      ['train --out = --traj', [...trainMap('adp').slice(0, -1), src('aa.dcd')], 'aa.dcd'],
      ['evaluate --out = --ref', ['evaluate', '--top', top, '--system', xml, '--ref', src('aa.dcd'), '--traj', src('aa.dcd'), '--out', src('aa.dcd')], 'aa.dcd'],
      ['backmap --out a folder', ['backmap', '--model', model, '--cg', src('cg.dcd'), '--out', out], 'out'],
      ['convert --out a folder', ['convert', '--top', top, '--traj', src('aa.dcd'), '--out', dir], path.basename(dir)],
      ['convert --out in a missing folder', ['convert', '--top', top, '--traj', src('aa.dcd'), '--out', path.join(out, 'missing', 'c.dcd')], 'c.dcd'],
      ['backmap --out in a missing folder', ['backmap', '--model', model, '--cg', src('cg.dcd'), '--out', path.join(out, 'missing', 'b.dcd')], 'b.dcd'],
      ['energy --out a device', ['energy', '--top', top, '--system', xml, '--traj', src('aa.dcd'), '--out', '/dev/null'], 'null'],
      ['a folder as --traj', ['convert', '--top', top, '--traj', out, '--out', o('c.dcd')], 'out'],
      ['a folder as --model', ['backmap', '--model', out, '--cg', src('cg.dcd'), '--out', o('b.dcd')], 'out'],
    ];
    for (const [label, args, file] of collide) cases.push({ name: label, args, expect: new RegExp(escape(file)), outDir: out });
    if (fullDir) {
      // 20 frames as PDB (~40 KB) onto a 4 KiB filesystem: the write fails with ENOSPC part-way
      cases.push({ name: 'convert onto a full filesystem', args: ['convert', '--top', top, '--traj', src('aa.dcd'), '--out', path.join(fullDir, 'c.pdb')], expect: /c\.pdb/, outDir: fullDir });
    }
  }
  return cases;
}
