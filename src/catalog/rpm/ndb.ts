import { CustomsError } from '../../errors.js';

/*
 * rpm's NDB backend (`Packages.db`, SUSE since SLE 15 SP3): a 32-byte header ("RpmP", version,
 * generation, slot page count), then 4 KiB slot pages of 16-byte slots ("Slot", package index,
 * block offset, block count), then blobs at blockOffset*16 with a 16-byte header ("BlbS", package
 * index, checksum, length). All little-endian. Written by hand: no library reads it.
 */
const HEADER_MAGIC = 0x506d7052; // 'RpmP'
const SLOT_MAGIC = 0x746f6c53; // 'Slot'
const BLOB_MAGIC = 0x53626c42; // 'BlbS'
const BLOCK = 16;
const SLOTS_PER_PAGE = 4096 / 16;

export function isNdb(buf: Buffer): boolean {
  return buf.length >= 32 && buf.readUInt32LE(0) === HEADER_MAGIC;
}

export function ndbBlobs(buf: Buffer): Buffer[] {
  if (!isNdb(buf)) throw new CustomsError('corrupt rpm NDB database: bad magic');
  const version = buf.readUInt32LE(4);
  const pages = buf.readUInt32LE(12);
  if (version !== 0 || pages === 0 || pages > 2048 || pages * 4096 > buf.length) {
    throw new CustomsError(`corrupt rpm NDB database: version ${version}, ${pages} slot pages`);
  }
  const out: Buffer[] = [];
  // Blobs may not overlap: slots naming one blob again (or a blob inside another) would let a small
  // file parse the same large header once per 16-byte slot.
  const spans: Array<[number, number]> = [];
  // The first two slots of the first page hold the file header.
  for (let i = 2; i < pages * SLOTS_PER_PAGE; i++) {
    const o = i * 16;
    if (buf.readUInt32LE(o) !== SLOT_MAGIC) throw new CustomsError(`corrupt rpm NDB database: bad slot ${i}`);
    const pkgIndex = buf.readUInt32LE(o + 4);
    if (pkgIndex === 0) continue;
    const blk = buf.readUInt32LE(o + 8) * BLOCK;
    if (
      blk + 16 > buf.length ||
      buf.readUInt32LE(blk) !== BLOB_MAGIC ||
      buf.readUInt32LE(blk + 4) !== pkgIndex
    ) {
      throw new CustomsError(`corrupt rpm NDB database: blob of package ${pkgIndex} is missing`);
    }
    const len = buf.readUInt32LE(blk + 12);
    if (blk + 16 + len > buf.length)
      throw new CustomsError(`corrupt rpm NDB database: blob of package ${pkgIndex} is truncated`);
    spans.push([blk, blk + 16 + len]);
    out.push(buf.subarray(blk + 16, blk + 16 + len));
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i][0] < spans[i - 1][1])
      throw new CustomsError(`corrupt rpm NDB database: two packages share the bytes at ${spans[i][0]}`);
  return out;
}
