import { CustomsError } from '../../errors.js';

/*
 * Berkeley DB hash files (`Packages` of rpm < 4.16: RHEL/CentOS 5-8, Amazon Linux 2, older SUSE).
 * The metadata page gives the page size and last page; hash pages (type 2 or 13) hold key/value
 * item offsets; each value that is an off-page item (type 3) points at a chain of overflow pages
 * (type 7) whose bytes make up one rpm header. Written by hand: no library reads it in JavaScript.
 */
const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_OFFPAGE = 3;

export function isBdbHash(buf: Buffer): boolean {
  if (buf.length < 512) return false;
  return buf.readUInt32LE(12) === HASH_MAGIC || buf.readUInt32BE(12) === HASH_MAGIC;
}

export function bdbBlobs(buf: Buffer): Buffer[] {
  if (!isBdbHash(buf)) throw new CustomsError('corrupt rpm Berkeley DB: not a hash database');
  const le = buf.readUInt32LE(12) === HASH_MAGIC;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const pageSize = u32(20);
  const lastPage = u32(32);
  if (buf[25] !== P_HASHMETA)
    throw new CustomsError('corrupt rpm Berkeley DB: first page is not hash metadata');
  if (buf[24] !== 0) throw new CustomsError('rpm Berkeley DB is encrypted');
  if (![512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].includes(pageSize)) {
    throw new CustomsError(`corrupt rpm Berkeley DB: page size ${pageSize}`);
  }
  const pages = Math.min(lastPage + 1, Math.floor(buf.length / pageSize));
  const out: Buffer[] = [];
  // An overflow page belongs to one item. Items sharing pages would let a small file name the same
  // megabytes thousands of times (found by the structure-aware fuzzer), so a page is read once.
  const used = new Set<number>();
  for (let p = 1; p < pages; p++) {
    const base = p * pageSize;
    const type = buf[base + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    if (PAGE_HEADER + entries * 2 > pageSize)
      throw new CustomsError(`corrupt rpm Berkeley DB: page ${p} claims ${entries} items`);
    // Items come as key/value pairs; package headers are the values.
    for (let i = 1; i < entries; i += 2) {
      const off = u16(base + PAGE_HEADER + i * 2);
      // An off-page item is 12 bytes: type, 3 unused, first page, total length.
      if (off + 12 > pageSize || buf[base + off] !== H_OFFPAGE) continue;
      const firstPage = u32(base + off + 4);
      const total = u32(base + off + 8);
      out.push(readOverflow(buf, firstPage, total, pageSize, pages, used, u32, u16));
    }
  }
  return out;
}

function readOverflow(
  buf: Buffer,
  first: number,
  total: number,
  pageSize: number,
  pages: number,
  used: Set<number>,
  u32: (o: number) => number,
  u16: (o: number) => number,
): Buffer {
  const parts: Buffer[] = [];
  let got = 0;
  for (let pg = first; pg !== 0;) {
    if (pg >= pages || used.has(pg))
      throw new CustomsError(`corrupt rpm Berkeley DB: broken overflow chain at page ${pg}`);
    used.add(pg);
    const base = pg * pageSize;
    if (buf[base + 25] !== P_OVERFLOW)
      throw new CustomsError(`corrupt rpm Berkeley DB: page ${pg} is not an overflow page`);
    const next = u32(base + 16);
    // On overflow pages the "high free offset" field holds the bytes used on the page.
    const bytes = next === 0 ? u16(base + 22) : pageSize - PAGE_HEADER;
    if (bytes > pageSize - PAGE_HEADER)
      throw new CustomsError(`corrupt rpm Berkeley DB: overflow page ${pg} claims ${bytes} bytes`);
    parts.push(buf.subarray(base + PAGE_HEADER, base + PAGE_HEADER + bytes));
    got += bytes;
    pg = next;
  }
  if (total && got < total) throw new CustomsError('corrupt rpm Berkeley DB: overflow data is short');
  return Buffer.concat(parts);
}
