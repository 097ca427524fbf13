// The layout's rules, checked on the sources: no import cycle among lib/'s
// modules (type-only imports count: they tie the modules' designs together
// just the same) and no file in lib/ over 500 lines.
import * as fs from 'fs';
import * as path from 'path';

const LIB = path.resolve(__dirname, '../lib');
const MAX_LINES = 500;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of `import … from`, `export … from`, `import('…')` and `require('…')`. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}(?:\/[^'"]*)?)\1/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[2]);
  return out;
}

function resolveModule(from: string, spec: string): string | null {
  const p = path.resolve(path.dirname(from), spec);
  for (const c of [`${p}.ts`, path.join(p, 'index.ts')]) if (fs.existsSync(c)) return c;
  return null; // outside lib (e.g. ../binding.d.ts)
}

/** Every cycle's members (strongly connected components of more than one module, or a self-import). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const files = sources(LIB);
const rel = (f: string) => path.relative(LIB, f);

test('the cycle finder finds cycles (a → b → c → a, d → d) and passes a tree', () => {
  const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'e']], ['d', ['d']], ['e', []]]);
  expect(cycles(g)).toEqual(expect.arrayContaining([['a', 'b', 'c'], ['d']]));
  expect(cycles(g)).toHaveLength(2);
  expect(cycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
  expect(importsOf("import type { X } from './x';\nexport * from '../y';\nconst z = require('./z');\nimport './w';\nimport type { V } from '.';")).toEqual(['./x', '../y', './z', './w', '.']);
});

test('lib/ has no import cycle', () => {
  expect(files.length).toBeGreaterThan(40);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const targets = importsOf(fs.readFileSync(f, 'utf8'))
      .map((s) => resolveModule(f, s))
      .filter((t): t is string => t !== null && t.startsWith(LIB));
    graph.set(rel(f), targets.map(rel));
  }
  expect([...graph.values()].flat().length).toBeGreaterThan(100);
  expect(cycles(graph)).toEqual([]);
});

test(`no file in lib/ is over ${MAX_LINES} lines`, () => {
  const long = files
    .map((f) => ({ file: rel(f), lines: fs.readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((x) => x.lines > MAX_LINES);
  expect(long).toEqual([]);
});
