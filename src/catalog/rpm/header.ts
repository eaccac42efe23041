import { CustomsError } from '../../errors.js';

/**
 * rpm header blobs as stored in every rpmdb backend: `il` index entries of 16 bytes
 * (tag, type, offset, count; big-endian) followed by `dl` bytes of data. Written by hand:
 * no maintained JavaScript reader of rpm headers exists.
 */
export const TAG = {
  SIGMD5: 261,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  PACKAGER: 1015,
  URL: 1020,
  ARCH: 1022,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  MODULARITYLABEL: 5096,
} as const;

const TYPE = {
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
};
const MAX_ENTRIES = 1 << 16;
const MAX_DATA = 256 * 1024 * 1024;

export type TagValue = string | string[] | number[] | bigint[] | Buffer;

export class RpmHeader {
  constructor(private readonly tags: Map<number, TagValue>) {}

  string(tag: number): string | undefined {
    const v = this.tags.get(tag);
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    return undefined;
  }

  strings(tag: number): string[] {
    const v = this.tags.get(tag);
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string')) return v as string[];
    return [];
  }

  number(tag: number): number | undefined {
    const v = this.tags.get(tag);
    if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
    if (Array.isArray(v) && typeof v[0] === 'bigint') return Number(v[0]);
    return undefined;
  }

  numbers(tag: number): number[] {
    const v = this.tags.get(tag);
    return Array.isArray(v) && typeof v[0] === 'number' ? (v as number[]) : [];
  }

  hex(tag: number): string | undefined {
    const v = this.tags.get(tag);
    return Buffer.isBuffer(v) ? v.toString('hex') : undefined;
  }
}

function readStrings(data: Buffer, offset: number, count: number): { values: string[]; end: number } {
  const values: string[] = [];
  let p = offset;
  for (let i = 0; i < count; i++) {
    const z = data.indexOf(0, p);
    if (z < 0) throw new CustomsError('corrupt rpm header: unterminated string');
    values.push(data.toString('utf8', p, z));
    p = z + 1;
  }
  return { values, end: p };
}

export function parseHeader(blob: Buffer): RpmHeader {
  if (blob.length < 8) throw new CustomsError('corrupt rpm header: too short');
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il === 0 || il > MAX_ENTRIES || dl > MAX_DATA || 8 + il * 16 + dl > blob.length) {
    throw new CustomsError(
      `corrupt rpm header: ${il} entries / ${dl} data bytes do not fit in ${blob.length} bytes`,
    );
  }
  const dataStart = 8 + il * 16;
  const data = blob.subarray(dataStart, dataStart + dl);
  const tags = new Map<number, TagValue>();
  // Entries of a real header each own their bytes; entries crafted to read the same bytes over and
  // over (65,536 of them over one megabyte of NULs) would cost il × dl. What all entries read
  // together is bounded by a small multiple of the data instead.
  let budget = 4 * dl + 65_536;
  const spend = (tag: number, bytes: number) => {
    budget -= bytes;
    if (budget < 0) throw new CustomsError(`corrupt rpm header: entries overlap (at tag ${tag})`);
  };
  for (let i = 0; i < il; i++) {
    const e = 8 + i * 16;
    const tag = blob.readInt32BE(e);
    const type = blob.readUInt32BE(e + 4);
    const offset = blob.readInt32BE(e + 8);
    const count = blob.readUInt32BE(e + 12);
    if (offset < 0 || offset > dl)
      throw new CustomsError(`corrupt rpm header: tag ${tag} points outside the data`);
    // Region tags (61-63) describe the immutable region itself, not package data.
    if (tag >= 61 && tag <= 63) continue;
    const need = (size: number) => {
      if (offset + size * count > dl)
        throw new CustomsError(`corrupt rpm header: tag ${tag} runs past the data`);
      spend(tag, size * count);
    };
    switch (type) {
      case TYPE.STRING: {
        const r = readStrings(data, offset, 1);
        spend(tag, r.end - offset);
        tags.set(tag, r.values[0]);
        break;
      }
      case TYPE.STRING_ARRAY:
      case TYPE.I18NSTRING: {
        // Each string takes at least its NUL: a count beyond the bytes left cannot be right.
        if (count > dl - offset) throw new CustomsError(`corrupt rpm header: tag ${tag} runs past the data`);
        spend(tag, count);
        const r = readStrings(data, offset, count);
        spend(tag, r.end - offset - count);
        tags.set(tag, r.values);
        break;
      }
      case TYPE.INT32: {
        need(4);
        const v: number[] = [];
        for (let j = 0; j < count; j++) v.push(data.readInt32BE(offset + j * 4));
        tags.set(tag, v);
        break;
      }
      case TYPE.INT16: {
        need(2);
        const v: number[] = [];
        for (let j = 0; j < count; j++) v.push(data.readUInt16BE(offset + j * 2));
        tags.set(tag, v);
        break;
      }
      case TYPE.INT64: {
        need(8);
        const v: bigint[] = [];
        for (let j = 0; j < count; j++) v.push(data.readBigInt64BE(offset + j * 8));
        tags.set(tag, v);
        break;
      }
      case TYPE.CHAR:
      case TYPE.INT8: {
        need(1);
        tags.set(tag, [...data.subarray(offset, offset + count)]);
        break;
      }
      case TYPE.BIN:
        need(1);
        tags.set(tag, Buffer.from(data.subarray(offset, offset + count)));
        break;
      default:
        break;
    }
  }
  return new RpmHeader(tags);
}
