// PDB: OpenMM-written topologies against mdtraj, multi-model round trips, element inference, column layout, errors.
import * as fs from 'fs';
import * as path from 'path';
import { TcbmError } from '../../lib/core/errors';
import { guessElement } from '../../lib/io/elements';
import { createPdb, openPdb, readPdb, topologyFromPdb, writePdb } from '../../lib/io/pdb';
import type { Atom, FrameChunk, Topology, UnitCell } from '../../lib/io/types';
import { maxAbsDiff, tempDir, uniform } from '../support/helpers';
import { DATA } from '../support/data';
import { hasPython, python } from '../support/python';

const dir = tempDir('tcbm-pdb-');

// the bundled copies of ../shared/data's topologies (scripts/make-sample-data.py)
const ADP_PDB = path.join(DATA, 'adp', 'adp.pdb');
const CLN_PDB = path.join(DATA, 'chignolin', 'cln.pdb');
const withData = test;
const withMdtraj = hasPython('mdtraj') ? test : test.skip;
const withMdtrajOnly = hasPython('mdtraj') ? test : test.skip;

interface MdtrajPdb {
  frames: number;
  names: string[];
  elements: string[];
  residues: string[];
  resSeq: number[];
  lengths: number[][] | null;
  angles: number[][] | null;
  xyz: Float32Array;
}

/** What mdtraj makes of PDB files (one Python start for all): xyz (nm, float32), atom names, elements, residues, cells. */
function mdtrajPdb(...files: string[]): MdtrajPdb[] {
  const outs = files.map((f, i) => path.join(dir, `md-${i}-${path.basename(f)}.bin`));
  const metas = JSON.parse(
    python(
      `import sys, json, numpy as np, mdtraj as md
n = len(sys.argv) // 2
out = []
for file, bin in zip(sys.argv[1:1 + n], sys.argv[1 + n:]):
    t = md.load(file)
    open(bin, 'wb').write(np.ascontiguousarray(t.xyz, dtype=np.float32).tobytes())
    out.append({'frames': t.n_frames, 'names': [a.name for a in t.topology.atoms],
      'elements': [a.element.symbol if a.element is not None else '' for a in t.topology.atoms],
      'residues': [r.name for r in t.topology.residues], 'resSeq': [a.residue.resSeq for a in t.topology.atoms],
      'lengths': None if t.unitcell_lengths is None else t.unitcell_lengths.tolist(),
      'angles': None if t.unitcell_angles is None else t.unitcell_angles.tolist()})
print(json.dumps(out))`,
      [...files, ...outs],
    ),
  ) as Omit<MdtrajPdb, 'xyz'>[];
  return metas.map((meta, i) => {
    const raw = fs.readFileSync(outs[i]);
    return { ...meta, xyz: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
  });
}

async function failure(p: Promise<unknown>): Promise<TcbmError> {
  try {
    await p;
  } catch (err) {
    return err as TcbmError;
  }
  throw new Error('expected a rejection');
}

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** An ATOM/HETATM line in the PDB columns (x, y, z in Å). */
function atomLine(serial: number, name: string, resName: string, chain: string, resSeq: number, xyz: number[], element = '', record = 'ATOM  ', altLoc = ' '): string {
  const n = name.length < 4 ? ` ${name}` : name;
  const c = xyz.map((v) => v.toFixed(3).padStart(8)).join('');
  return `${record}${String(serial).padStart(5)} ${n.padEnd(4)}${altLoc}${resName.padStart(3)} ${chain}${String(resSeq).padStart(4)}    ${c}  1.00  0.00          ${element.padStart(2)}  `;
}

describe('OpenMM-written files', () => {
  withData('adp.pdb: 22 atoms, ACE/ALA/NME, the 12 CONECT bonds it has, one frame', async () => {
    const { topology, frames, cells } = await readPdb(ADP_PDB);
    expect(topology.atoms.length).toBe(22);
    expect(topology.atoms.map((a) => a.name)).toEqual(
      ['H1', 'CH3', 'H2', 'H3', 'C', 'O', 'N', 'H', 'CA', 'HA', 'CB', 'HB1', 'HB2', 'HB3', 'C', 'O', 'N', 'H', 'C', 'H1', 'H2', 'H3'],
    );
    expect([...new Set(topology.atoms.map((a) => `${a.residueIndex}:${a.resName}:${a.resSeq}`))]).toEqual(['0:ACE:1', '1:ALA:2', '2:NME:3']);
    expect(topology.atoms.map((a) => a.hetero)).toEqual(topology.atoms.map((a) => a.resName !== 'ALA'));
    expect(topology.atoms.every((a) => a.chain === 'A')).toBe(true);
    expect(topology.atoms.map((a) => a.element).join('')).toBe('HCHHCONHCHCHHHCONHCHHH');
    // OpenMM writes CONECT only for bonds that touch the HETATM caps: 12 of ADP's 21 bonds
    expect(topology.bonds).toEqual([[0, 1], [1, 2], [1, 3], [1, 4], [4, 5], [4, 6], [14, 16], [16, 17], [16, 18], [18, 19], [18, 20], [18, 21]]);
    expect(frames.frames).toBe(1);
    expect(cells).toBeUndefined();
    expect(Array.from(frames.coords.subarray(0, 3))).toEqual([Math.fround(0.7426), Math.fround(0.2778), Math.fround(-0.0755)]);
  });

  withMdtraj('adp.pdb and cln.pdb: coordinates (tolerance 1e-6 nm), names, elements and residues equal mdtraj\'s', async () => {
    const refs = mdtrajPdb(ADP_PDB, CLN_PDB);
    for (const [k, file] of [ADP_PDB, CLN_PDB].entries()) {
      const { topology, frames } = await readPdb(file);
      const ref = refs[k];
      expect(ref.frames).toBe(1);
      expect(maxAbsDiff(frames.coords, ref.xyz)).toBeLessThanOrEqual(1e-6);
      expect(topology.atoms.map((a) => a.name)).toEqual(ref.names);
      expect(topology.atoms.map((a) => a.element)).toEqual(ref.elements);
      expect(topology.atoms.map((a) => a.resSeq)).toEqual(ref.resSeq);
      const residues: string[] = [];
      topology.atoms.forEach((a) => (residues[a.residueIndex] = a.resName));
      expect(residues).toEqual(ref.residues);
    }
  });

  withData('cln.pdb: 166 atoms in 10 residues YYDPETGTWY, no CONECT', async () => {
    const top = await topologyFromPdb(CLN_PDB);
    expect(top.atoms.length).toBe(166);
    const residues: string[] = [];
    top.atoms.forEach((a) => (residues[a.residueIndex] = a.resName));
    expect(residues).toEqual(['TYR', 'TYR', 'ASP', 'PRO', 'GLU', 'THR', 'GLY', 'THR', 'TRP', 'TYR']);
    expect(top.bonds).toEqual([]);
    expect(top.atoms.find((a) => a.name === 'CA')!.element).toBe('C');
  });
});

describe('multi-model round trip', () => {
  const FRAMES = 6;
  let topology: Topology;
  let coords: Float32Array;
  const cells: UnitCell[] = Array.from({ length: FRAMES }, (_, f) => ({ a: 2.5, b: 2.6 + (f >= 3 ? 0.1 : 0), c: 2.7, alpha: 90, beta: 80, gamma: 100 }));
  const file = path.join(dir, 'models.pdb');

  beforeAll(async () => {
    topology = {
      atoms: [
        ...['N', 'CA', 'C', 'O', 'CB', 'HB1', 'HB2', 'HB3'].map((name): Atom => ({ name, element: name[0], resName: 'ALA', resSeq: 1, residueIndex: 0, chain: 'A', hetero: false })),
        ...['N', 'CA', 'C', 'O', 'OXT'].map((name): Atom => ({ name, element: name[0], resName: 'GLY', resSeq: 2, residueIndex: 1, chain: 'A', hetero: false })),
        { name: 'CL', element: 'Cl', resName: 'CL', resSeq: 1, residueIndex: 2, chain: 'B', hetero: true },
        { name: 'O', element: 'O', resName: 'HOH', resSeq: 10, residueIndex: 3, chain: 'C', hetero: true },
      ],
      bonds: [[0, 1], [1, 2], [1, 4], [2, 3], [2, 8], [4, 5], [4, 6], [4, 7], [8, 9], [9, 10], [10, 11], [10, 12]],
    };
    const n = topology.atoms.length;
    coords = uniform(Float32Array, FRAMES * n * 3, -99, 99, 11);
    const w = await createPdb(file, { atoms: n, topology });
    await w.write({ coords: coords.subarray(0, 2 * n * 3), frames: 2, cells: cells.slice(0, 2) });
    await w.write({ coords: coords.subarray(2 * n * 3), frames: FRAMES - 2, cells: cells.slice(2) });
    expect(fs.existsSync(file)).toBe(false);
    await w.close();
  });

  test('read back: coordinates to 0.0005 Å (%8.3f), topology, bonds and cells exact', async () => {
    const r = await readPdb(file);
    expect(r.frames.frames).toBe(FRAMES);
    // written with 3 decimals in Å: rounding error ≤ 0.0005 Å = 5e-5 nm, plus float32 rounding (half an ulp ≤ 3.8e-6 nm below 128 nm)
    expect(maxAbsDiff(r.frames.coords, coords)).toBeLessThanOrEqual(5e-5 + 4e-6);
    expect(r.topology).toEqual(topology);
    expect(r.cells).toEqual(cells);
  });

  test('random access and chunks() agree', async () => {
    const reader = await openPdb(file, { atoms: 15 });
    expect(await reader.frameCount()).toBe(FRAMES);
    const all = await reader.read(0, FRAMES);
    const chunks: FrameChunk[] = [];
    for await (const c of reader.chunks(4)) chunks.push(c);
    expect(chunks.map((c) => [c.start, c.frames])).toEqual([[0, 4], [4, 2]]);
    const mid = await reader.read(3, 2);
    expect(Array.from(mid.coords)).toEqual(Array.from(all.coords.subarray(3 * 45, 5 * 45)));
    expect(Array.from(chunks[1].coords)).toEqual(Array.from(all.coords.subarray(4 * 45)));
    expect(mid.cells).toEqual(cells.slice(3, 5));
    await reader.close();
  });

  test('column layout: names at 13/14, TER per chain, MODEL/ENDMDL, CRYST1 first and when it changes, CONECT, END', () => {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines[1]).toBe('CRYST1   25.000   26.000   27.000  90.00  80.00 100.00 P 1           1 ');
    expect(lines[2]).toBe('MODEL        1');
    expect(lines[3].slice(0, 30)).toBe('ATOM      1  N   ALA A   1    ');
    expect(lines[3].length).toBe(80);
    expect(lines.find((l) => l.startsWith('ATOM      6'))!.slice(12, 16)).toBe(' HB1');
    const cl = lines.find((l) => l.includes(' CL B'))!;
    expect(cl.slice(0, 30)).toBe('HETATM   15 CL    CL B   1    ');
    expect(cl.slice(76, 78)).toBe('CL');
    expect(lines.filter((l) => l.startsWith('TER')).slice(0, 3)).toEqual([
      'TER      14      GLY A   2',
      'TER      16       CL B   1',
      'TER      18      HOH C  10',
    ]);
    expect(lines.filter((l) => l.startsWith('MODEL')).length).toBe(FRAMES);
    expect(lines.filter((l) => l === 'ENDMDL').length).toBe(FRAMES);
    expect(lines.filter((l) => l.startsWith('CRYST1')).length).toBe(2); // frame 0 and frame 3 (b changes)
    expect(lines).toContain('CONECT    2    1    3    5');
    expect(lines).toContain('CONECT   11   10   12   13'); // serials after TER: atom 10 → 11
    expect(lines.slice(-2)).toEqual(['END', '']);
  });

  withMdtrajOnly('mdtraj reads the multi-model file: same frames, coordinates, atom names and cell', async () => {
    const [ref] = mdtrajPdb(file);
    expect(ref.frames).toBe(FRAMES);
    expect(maxAbsDiff(ref.xyz, coords)).toBeLessThanOrEqual(5e-5 + 4e-6);
    expect(ref.names).toEqual(topology.atoms.map((a) => a.name));
    expect(ref.elements).toEqual(topology.atoms.map((a) => a.element));
    // mdtraj applies one CRYST1 (the last it meets) to every frame; the last frame's cell is the one to compare
    expect(ref.lengths![FRAMES - 1].map((x) => +x.toFixed(4))).toEqual([2.5, 2.7, 2.7]);
    expect(ref.angles![FRAMES - 1].map((x) => +x.toFixed(2))).toEqual([90, 80, 100]);
  });

  withData('adp.pdb written back is byte-identical to OpenMM\'s atom lines', async () => {
    const { topology: top, frames } = await readPdb(ADP_PDB);
    const out = path.join(dir, 'adp-out.pdb');
    await writePdb(out, top, frames.coords);
    const ours = fs.readFileSync(out, 'latin1').split('\n').filter((l) => /^(ATOM|HETATM|TER)/.test(l));
    const theirs = fs.readFileSync(ADP_PDB, 'latin1').split('\n').filter((l) => /^(ATOM|HETATM|TER)/.test(l));
    expect(ours).toEqual(theirs.map((l) => l.trimEnd()).map((l, i) => (ours[i].startsWith('TER') ? l : l.padEnd(80))));
    expect((await topologyFromPdb(out)).bonds).toEqual(top.bonds);
  });

  test('serials wrap after 99999 (CONECT is then left out)', async () => {
    const n = 100001;
    const atoms: Atom[] = Array.from({ length: n }, (_, i) => ({ name: 'O', element: 'O', resName: 'HOH', resSeq: i + 1, residueIndex: i, chain: 'W', hetero: true }));
    const out = path.join(dir, 'big.pdb');
    await writePdb(out, { atoms, bonds: [[0, 1]] }, new Float32Array(n * 3));
    const lines = fs.readFileSync(out, 'latin1').split('\n');
    expect(lines[2 + 99998].slice(6, 11)).toBe('99999');
    expect(lines[2 + 99999].slice(6, 11)).toBe('    0');
    expect(lines[2 + 99999].slice(22, 26)).toBe('   0'); // resSeq 100000 wraps at 9999 as OpenMM's does
    expect(lines.some((l) => l.startsWith('CONECT'))).toBe(false);
    const r = await openPdb(out);
    expect(r.atoms).toBe(n);
    expect((await r.read(0, 1)).coords.length).toBe(n * 3);
    await r.close();
  });
});

describe('parsing details', () => {
  test('element inference from names when columns 77-78 are blank (as mdtraj/OpenMM, plus FE and BR)', async () => {
    const rows: [string, string, number][] = [
      ['N', 'ALA', 1], ['CA', 'ALA', 1], ['1HB', 'ALA', 1], ['HG1', 'THR', 2], ['OXT', 'THR', 2], ['SD', 'MET', 3],
      ['CA', 'CA', 4], ['NA', 'NA', 5], ['CL', 'CL', 6], ['K', 'K', 7], ['ZN', 'ZN', 8], ['MG', 'MG', 9],
      ['FE', 'HEM', 10], ['CAA', 'HEM', 10], ['BR1', 'LIG', 11], ['C1', 'LIG', 11], ['XX', 'UNK', 12],
    ];
    const text = rows.map(([name, res, seq], i) => atomLine(i + 1, name, res, 'A', seq, [i, 0, 0], '', 'HETATM')).join('\n');
    const top = await topologyFromPdb(write('elements.pdb', `${text}\nEND\n`));
    expect(top.atoms.map((a) => a.element)).toEqual(['N', 'C', 'H', 'H', 'O', 'S', 'Ca', 'Na', 'Cl', 'K', 'Zn', 'Mg', 'Fe', 'C', 'Br', 'C', '']);
    expect(guessElement('2HD1', 20)).toBe('H');
    // an element column, when present, wins over the name
    const withColumn = await topologyFromPdb(write('col.pdb', atomLine(1, 'CA', 'CA', 'A', 1, [0, 0, 0], 'CA', 'HETATM') + '\n' + atomLine(2, 'CA', 'ALA', 'A', 2, [0, 0, 0], 'C') + '\n'));
    expect(withColumn.atoms.map((a) => a.element)).toEqual(['Ca', 'C']);
  });

  test('residues change on chain, resSeq, insertion code or name; CRYST1; alternate locations keep the first', async () => {
    const lines = [
      'CRYST1   40.000   41.000   42.000  90.00  90.00 120.00 P 1           1',
      atomLine(1, 'N', 'GLY', 'A', 5, [1, 2, 3], 'N'),
      atomLine(2, 'CA', 'GLY', 'A', 5, [1, 2, 3], 'C', 'ATOM  ', 'A'),
      atomLine(3, 'CA', 'GLY', 'A', 5, [9, 9, 9], 'C', 'ATOM  ', 'B'),
      atomLine(4, 'N', 'GLY', 'A', 5, [1, 2, 3], 'N').replace('GLY A   5 ', 'GLY A   5A'),
      atomLine(5, 'N', 'GLY', 'B', 5, [1, 2, 3], 'N'),
      atomLine(6, 'N', 'ALA', 'B', 5, [1, 2, 3], 'N'),
      atomLine(7, 'N', 'ALA', 'B', 6, [1.5, -2.25, 1000], 'N'),
      'CONECT    1    2    7',
      'CONECT    2    1',
      'CONECT    7    1   99',
      'END',
    ];
    const file = write('details.pdb', lines.join('\r\n'));
    const { topology, frames, cells } = await readPdb(file);
    expect(topology.atoms.map((a) => a.residueIndex)).toEqual([0, 0, 1, 2, 3, 4]);
    expect(topology.bonds).toEqual([[0, 1], [0, 5]]); // serial 3 (altLoc B) is skipped, 99 does not exist
    expect(cells).toEqual([{ a: 4, b: 4.1, c: 4.2, alpha: 90, beta: 90, gamma: 120 }]);
    expect(Array.from(frames.coords.subarray(15))).toEqual([0.15, -0.225, 100].map(Math.fround));
  });

  test('VMD-style frames separated by END, and MODEL without serial parse as models', async () => {
    const model = (x: number) => [atomLine(1, 'C', 'UNK', 'A', 1, [x, 0, 0], 'C'), atomLine(2, 'O', 'UNK', 'A', 1, [0, x, 0], 'O')];
    const vmd = write('vmd.pdb', [...model(1), 'END', ...model(2), 'END', ''].join('\n'));
    const r = await readPdb(vmd);
    expect(r.frames.frames).toBe(2);
    expect(r.frames.coords[6]).toBeCloseTo(0.2, 7);
  });
});

describe('errors: one line, naming the file and the frame or line', () => {
  test('models with different atom counts: ERR_ATOM_COUNT naming the frame', async () => {
    const a = (s: number) => atomLine(s, 'C', 'UNK', 'A', 1, [0, 0, 0], 'C');
    const file = write('uneven.pdb', ['MODEL        1', a(1), a(2), 'ENDMDL', 'MODEL        2', a(1), a(2), 'ENDMDL', 'MODEL        3', a(1), 'ENDMDL', 'END'].join('\n'));
    const err = await failure(readPdb(file));
    expect(err.code).toBe('ERR_ATOM_COUNT');
    expect(err.message).toBe(`${file}: frame 2: model 3 (line 10) has 1 atoms, model 1 has 2`);
  });

  test('topology atom count differs: ERR_ATOM_COUNT', async () => {
    const file = write('two.pdb', [atomLine(1, 'C', 'UNK', 'A', 1, [0, 0, 0]), atomLine(2, 'C', 'UNK', 'A', 1, [0, 0, 0])].join('\n'));
    const err = await failure(openPdb(file, { atoms: 3 }));
    expect(err.code).toBe('ERR_ATOM_COUNT');
    expect(err.message).toBe(`${file}: has 2 atoms, topology has 3`);
  });

  test('a bad coordinate column: ERR_BAD_FORMAT naming the line', async () => {
    const good = atomLine(1, 'C', 'UNK', 'A', 1, [0, 0, 0]);
    const bad = good.slice(0, 38) + '  1.2x45' + good.slice(46);
    const file = write('badcoord.pdb', ['REMARK hello', 'MODEL 1', good, 'ENDMDL', 'MODEL 2', bad, 'ENDMDL'].join('\n'));
    const reader = await openPdb(file);
    const err = await failure(reader.read(0, 2));
    expect(err.code).toBe('ERR_BAD_FORMAT');
    expect(err.message).toBe(`${file}: line 6: bad y coordinate "  1.2x45" in columns 39-46`);
    await reader.close();
    const short = write('short.pdb', good.slice(0, 50) + '\n');
    expect((await failure(readPdb(short))).message).toBe(`${short}: line 1: ends at column 50, before the coordinates end (column 54)`);
  });

  test('no atoms, missing file', async () => {
    const empty = write('empty.pdb', 'REMARK nothing\nEND\n');
    expect(await failure(readPdb(empty))).toMatchObject({ code: 'ERR_BAD_FORMAT', message: `${empty}: no ATOM or HETATM records` });
    const missing = path.join(dir, 'missing.pdb');
    expect(await failure(topologyFromPdb(missing))).toMatchObject({ code: 'ERR_FILE_NOT_FOUND', message: `${missing}: no such file` });
  });

  test('NaN on write: ERR_NON_FINITE naming the frame, nothing left behind after abort', async () => {
    const topology: Topology = { atoms: [{ name: 'C', element: 'C', resName: 'UNK', resSeq: 1, residueIndex: 0, chain: 'A', hetero: true }], bonds: [] };
    const out = path.join(dir, 'nan.pdb');
    const w = await createPdb(out, { atoms: 1, topology });
    const err = await failure(w.write({ coords: new Float32Array([0, 0, 0, 1, Infinity, 1]), frames: 2 }));
    expect(err.code).toBe('ERR_NON_FINITE');
    expect(err.message).toBe(`${out}: frame 1: coordinate y of atom 0 is Infinity`);
    await w.abort();
    expect(fs.readdirSync(dir).filter((f) => f.includes('nan.pdb'))).toEqual([]);
    await expect(writePdb(out, topology, new Float32Array([1e4, 0, 0]))).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(fs.existsSync(out)).toBe(false);
    await expect(createPdb(out, { atoms: 1 })).rejects.toThrow('Expected Topology object (PDB needs atom names) for options.topology but received undefined');
  });
});
