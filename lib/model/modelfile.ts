// The .tcbm file: one file holding everything `backmap` needs (and, for
// checkpoints, everything `train --resume` needs).
//
//   bytes 0-7   "TCBMODEL"
//   u32 LE      format version
//   u32 LE      header length H
//   u32 LE      CRC-32 of the header JSON (format 2 on; format 1 files have none)
//   H bytes     header JSON (hyperparameters, topology, mapping, mixture, section table)
//   sections    binary blobs at the offsets the header lists, each with a CRC-32
import { promises as fsp } from 'fs';
import * as zlib from 'zlib';
import { fileError } from '../core/errors';
import { openAtomic } from '../io/atomic';

export const MODEL_MAGIC = 'TCBMODEL';
export const MODEL_FORMAT_VERSION = 2;

export interface SectionEntry {
  name: string;
  offset: number;
  length: number;
  crc32: number;
}

export interface ContainerHeader {
  format: number;
  kind: 'model' | 'checkpoint';
  sections: SectionEntry[];
  [key: string]: unknown;
}

export type Sections = Record<string, Uint8Array>;

export function bytesOf(a: Float32Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A Float32Array copy of a section (sections need not be 4-byte aligned in the file buffer). */
export function floatsOf(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export async function writeContainer(file: string, header: Omit<ContainerHeader, 'format' | 'sections'>, sections: Sections): Promise<void> {
  const table: SectionEntry[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(sections)) {
    table.push({ name, offset, length: data.byteLength, crc32: zlib.crc32(data) });
    offset += data.byteLength;
  }
  const json = Buffer.from(JSON.stringify({ ...header, format: MODEL_FORMAT_VERSION, sections: table }), 'utf8');
  const prefix = Buffer.alloc(20);
  prefix.write(MODEL_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(MODEL_FORMAT_VERSION, 8);
  prefix.writeUInt32LE(json.byteLength, 12);
  prefix.writeUInt32LE(zlib.crc32(json), 16);
  const out = await openAtomic(file);
  await out.finish(async () => {
    await out.handle.write(prefix);
    await out.handle.write(json);
    for (const data of Object.values(sections)) await out.handle.write(data);
  });
}

export async function readContainer(file: string): Promise<{ header: ContainerHeader; sections: Sections }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (err) {
    const folder = (err as NodeJS.ErrnoException).code === 'EISDIR';
    throw fileError('ERR_FILE_NOT_FOUND', file, folder ? 'is a folder, not a model file' : 'no such model file');
  }
  if (buf.byteLength < 16 || buf.toString('latin1', 0, 8) !== MODEL_MAGIC) {
    throw fileError('ERR_BAD_FORMAT', file, 'not a tcbackmap model file (no TCBMODEL signature)');
  }
  const version = buf.readUInt32LE(8);
  if (version > MODEL_FORMAT_VERSION) {
    throw fileError('ERR_UNSUPPORTED', file, `model format ${version} is newer than this tcbackmap reads (${MODEL_FORMAT_VERSION}): upgrade tcbackmap`);
  }
  if (version < 1) throw fileError('ERR_BAD_FORMAT', file, `model file is corrupt: format version ${version}`);
  // Format 1 (the first models) has no header checksum; from format 2 the JSON is checked.
  const start = version >= 2 ? 20 : 16;
  if (buf.byteLength < start) throw fileError('ERR_TRUNCATED', file, 'model file is truncated inside its header');
  const length = buf.readUInt32LE(12);
  if (start + length > buf.byteLength) throw fileError('ERR_TRUNCATED', file, 'model file is truncated inside its header');
  const json = buf.subarray(start, start + length);
  if (version >= 2 && zlib.crc32(json) !== buf.readUInt32LE(16)) {
    throw fileError('ERR_BAD_FORMAT', file, 'model file is corrupt: its header fails its checksum');
  }
  let header: ContainerHeader;
  try {
    header = JSON.parse(json.toString('utf8')) as ContainerHeader;
  } catch {
    throw fileError('ERR_BAD_FORMAT', file, 'model file header is corrupt (not JSON)');
  }
  if (typeof header !== 'object' || header === null || (header.sections !== undefined && !Array.isArray(header.sections))) {
    throw fileError('ERR_BAD_FORMAT', file, 'model file header is corrupt (no section table)');
  }
  const base = start + length;
  const sections: Sections = {};
  for (const s of header.sections ?? []) {
    if (base + s.offset + s.length > buf.byteLength) throw fileError('ERR_TRUNCATED', file, `model file is truncated in section "${s.name}"`);
    const data = buf.subarray(base + s.offset, base + s.offset + s.length);
    if (zlib.crc32(data) !== s.crc32) throw fileError('ERR_BAD_FORMAT', file, `model file is corrupt: section "${s.name}" fails its checksum`);
    sections[s.name] = data;
  }
  return { header, sections };
}
