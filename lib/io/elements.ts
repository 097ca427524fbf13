// Element symbols and the guess of an element from a PDB atom name, following
// OpenMM's PDBFile and mdtraj's _guess_element so topologies agree with theirs.

/** Every element symbol, canonical capitalisation, by atomic number - 1. */
export const ELEMENT_SYMBOLS: readonly string[] = [
  'H', 'He', 'Li', 'Be', 'B', 'C', 'N', 'O', 'F', 'Ne', 'Na', 'Mg', 'Al', 'Si', 'P', 'S', 'Cl', 'Ar', 'K', 'Ca',
  'Sc', 'Ti', 'V', 'Cr', 'Mn', 'Fe', 'Co', 'Ni', 'Cu', 'Zn', 'Ga', 'Ge', 'As', 'Se', 'Br', 'Kr', 'Rb', 'Sr', 'Y',
  'Zr', 'Nb', 'Mo', 'Tc', 'Ru', 'Rh', 'Pd', 'Ag', 'Cd', 'In', 'Sn', 'Sb', 'Te', 'I', 'Xe', 'Cs', 'Ba', 'La', 'Ce',
  'Pr', 'Nd', 'Pm', 'Sm', 'Eu', 'Gd', 'Tb', 'Dy', 'Ho', 'Er', 'Tm', 'Yb', 'Lu', 'Hf', 'Ta', 'W', 'Re', 'Os', 'Ir',
  'Pt', 'Au', 'Hg', 'Tl', 'Pb', 'Bi', 'Po', 'At', 'Rn', 'Fr', 'Ra', 'Ac', 'Th', 'Pa', 'U', 'Np', 'Pu', 'Am', 'Cm',
  'Bk', 'Cf', 'Es', 'Fm', 'Md', 'No', 'Lr', 'Rf', 'Db', 'Sg', 'Bh', 'Hs', 'Mt', 'Ds', 'Rg', 'Cn', 'Nh', 'Fl', 'Mc',
  'Lv', 'Ts', 'Og',
];

const BY_UPPER = new Map<string, string>(ELEMENT_SYMBOLS.map((s) => [s.toUpperCase(), s]));

/** "CL", "cl", "Cl" -> "Cl"; undefined when it is no element symbol. */
export function canonicalElement(symbol: string): string | undefined {
  return BY_UPPER.get(symbol.trim().toUpperCase());
}

// Name prefixes read as two-letter elements in any residue: OpenMM's and mdtraj's list, plus
// BR (bromine in ligands, which they read as boron) and FE (haem iron, which they read as fluorine).
const TWO_LETTER_PREFIXES: readonly [string, string][] = [
  ['CL', 'Cl'],
  ['BR', 'Br'],
  ['NA', 'Na'],
  ['MG', 'Mg'],
  ['BE', 'Be'],
  ['LI', 'Li'],
  ['ZN', 'Zn'],
  ['FE', 'Fe'],
];

/**
 * The element of an atom whose PDB element columns are blank. `residueAtoms` is
 * the number of atoms in its residue: a one-atom residue named like an element
 * is that ion (CA, FE, K …), so a protein "CA" stays carbon. "" when no guess fits.
 */
export function guessElement(atomName: string, residueAtoms: number): string {
  let upper = atomName.trim().toUpperCase();
  // "1HB2"-style names: hydrogen counters in front of the name
  while (upper.length > 1 && upper.charCodeAt(0) >= 48 && upper.charCodeAt(0) <= 57) upper = upper.slice(1);
  if (upper.length === 0) return '';
  if (residueAtoms === 1) {
    const letters = upper.replace(/[^A-Z]/g, '');
    const ion = BY_UPPER.get(letters);
    if (ion) return ion;
  }
  for (const [prefix, symbol] of TWO_LETTER_PREFIXES) if (upper.startsWith(prefix)) return symbol;
  return BY_UPPER.get(upper[0]) ?? '';
}
