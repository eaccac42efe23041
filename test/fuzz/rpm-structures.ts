import fc from 'fast-check';

/*
 * Structure-aware fuzzing of rpm's databases. Byte mutations of a real NDB or Berkeley DB file
 * mostly break a magic number and stop at the first check; these writers build well-formed files
 * from header blobs and then damage the fields the readers follow (slot and blob offsets, page
 * types, item offsets, overflow chains, header entry offsets and counts), so the fuzzer reaches
 * the code behind the checks. The layouts are the ones src/catalog/rpm/{ndb,bdb,header}.ts read.
 */

/** A well-formed rpm header blob: `il` 16-byte entries (tag, type, offset, count) then `data`. */
export interface HeaderEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

export function buildHeader(entries: HeaderEntry[], data: Buffer): Buffer {
  const b = Buffer.alloc(8 + entries.length * 16 + data.length);
  b.writeUInt32BE(entries.length, 0);
  b.writeUInt32BE(data.length, 4);
  entries.forEach((e, i) => {
    const o = 8 + i * 16;
    b.writeInt32BE(e.tag | 0, o);
    b.writeUInt32BE(e.type >>> 0, o + 4);
    b.writeInt32BE(e.offset | 0, o + 8);
    b.writeUInt32BE(e.count >>> 0, o + 12);
  });
  data.copy(b, 8 + entries.length * 16);
  return b;
}

const NDB_SLOT_PAGE = 4096;

/** An NDB `Packages.db` holding `blobs` as packages 1..n (slot pages first, then 16-byte-aligned blobs). */
export function buildNdb(blobs: Buffer[]): Buffer {
  const pages = Math.max(1, Math.ceil((blobs.length + 2) / (NDB_SLOT_PAGE / 16)));
  const parts: Buffer[] = [];
  const slots = Buffer.alloc(pages * NDB_SLOT_PAGE);
  slots.write('RpmP', 0, 'latin1');
  slots.writeUInt32LE(0, 4); // version
  slots.writeUInt32LE(1, 8); // generation
  slots.writeUInt32LE(pages, 12);
  for (let i = 2; i < pages * (NDB_SLOT_PAGE / 16); i++) slots.write('Slot', i * 16, 'latin1');
  let at = slots.length;
  blobs.forEach((blob, n) => {
    const slot = (n + 2) * 16;
    const size = 16 + Math.ceil(blob.length / 16) * 16;
    slots.writeUInt32LE(n + 1, slot + 4);
    slots.writeUInt32LE(at / 16, slot + 8);
    slots.writeUInt32LE(size / 16, slot + 12);
    const rec = Buffer.alloc(size);
    rec.write('BlbS', 0, 'latin1');
    rec.writeUInt32LE(n + 1, 4);
    rec.writeUInt32LE(blob.length, 12);
    blob.copy(rec, 16);
    parts.push(rec);
    at += size;
  });
  return Buffer.concat([slots, ...parts]);
}

const BDB_HEADER = 26;

/**
 * A little-endian Berkeley DB hash file: metadata page 0, one hash page of key/value pairs whose
 * values are off-page items, and each blob on a chain of overflow pages.
 */
export function buildBdb(blobs: Buffer[], pageSize: number): Buffer {
  const room = pageSize - BDB_HEADER;
  const chains = blobs.map((b) => Math.max(1, Math.ceil(b.length / room)));
  const pageCount = 2 + chains.reduce((a, c) => a + c, 0);
  const buf = Buffer.alloc(pageCount * pageSize);
  buf.writeUInt32LE(0x061561, 12);
  buf.writeUInt32LE(9, 16); // version
  buf.writeUInt32LE(pageSize, 20);
  buf[25] = 8; // P_HASHMETA
  buf.writeUInt32LE(pageCount - 1, 32);
  const hash = pageSize;
  buf.writeUInt32LE(1, hash + 8);
  buf[hash + 25] = 13; // P_HASH
  buf.writeUInt16LE(blobs.length * 2, hash + 20);
  let top = pageSize;
  let next = 2;
  blobs.forEach((blob, n) => {
    // The key: a 4-byte package number (H_KEYDATA).
    top -= 5;
    buf[hash + top] = 1;
    buf.writeUInt32LE(n + 1, hash + top + 1);
    buf.writeUInt16LE(top, hash + BDB_HEADER + n * 4);
    // The value: an off-page item (type, 3 unused, first page, total length).
    top -= 12;
    buf[hash + top] = 3;
    buf.writeUInt32LE(next, hash + top + 4);
    buf.writeUInt32LE(blob.length, hash + top + 8);
    buf.writeUInt16LE(top, hash + BDB_HEADER + n * 4 + 2);
    for (let k = 0; k < chains[n]; k++, next++) {
      const p = next * pageSize;
      const piece = blob.subarray(k * room, (k + 1) * room);
      buf.writeUInt32LE(next, p + 8);
      buf.writeUInt32LE(k === chains[n] - 1 ? 0 : next + 1, p + 16);
      buf.writeUInt16LE(piece.length, p + 22);
      buf[p + 25] = 7; // P_OVERFLOW
      piece.copy(buf, p + BDB_HEADER);
    }
  });
  return buf;
}

/** Values that break readers: zero, one, sign bits, the largest, and small counts. */
const nasty = fc.constantFrom(
  0,
  1,
  2,
  3,
  7,
  8,
  13,
  16,
  255,
  4096,
  0xffff,
  0x7fffffff,
  0x80000000,
  0xffffffff,
);

/** A header made of arbitrary entries over a small data area rich in NUL bytes. */
export const headerArb: fc.Arbitrary<Buffer> = fc
  .record({
    entries: fc.array(
      fc.record({
        tag: fc.oneof(
          fc.constantFrom(61, 62, 63, 261, 1000, 1001, 1002, 1003, 1116, 1117, 1118),
          fc.integer(),
        ),
        type: fc.oneof(fc.integer({ min: 0, max: 10 }), nasty),
        offset: fc.oneof(fc.integer({ min: -2, max: 600 }), nasty),
        count: fc.oneof(fc.integer({ min: 0, max: 600 }), nasty),
      }),
      { minLength: 1, maxLength: 40 },
    ),
    data: fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a.map((x) => (x < 96 ? 0 : x)))),
  })
  .map(({ entries, data }) => buildHeader(entries, data));

/** Field writes at chosen places of a built file: `at` picks the structure, `field` its field. */
const edits = fc.array(
  fc.record({ at: fc.nat(), field: fc.nat(), value: nasty, width: fc.constantFrom(1, 2, 4) }),
  { minLength: 1, maxLength: 6 },
);

function write(b: Buffer, o: number, width: number, value: number): void {
  if (o < 0 || o + width > b.length) return;
  if (width === 1) b[o] = value & 0xff;
  else if (width === 2) b.writeUInt16LE(value & 0xffff, o);
  else b.writeUInt32LE(value >>> 0, o);
}

/**
 * NDB files of real and fuzzed header blobs, then damaged in the file header, a slot (package
 * index, block offset, block count) or a blob's header (magic, package index, checksum, length),
 * or with one slot copied over others (several slots naming one blob).
 */
export function ndbArb(realBlobs: Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .record({
      blobs: fc.array(fc.oneof(fc.constantFrom(...realBlobs), headerArb), { minLength: 1, maxLength: 6 }),
      edits,
      copies: fc.array(fc.record({ from: fc.nat(), to: fc.nat() }), { maxLength: 4 }),
    })
    .map(({ blobs, edits, copies }) => {
      const b = buildNdb(blobs);
      const slotCount = blobs.length + 2;
      for (const c of copies)
        b.copy(
          b,
          (2 + (c.to % slotCount)) * 16,
          (2 + (c.from % blobs.length)) * 16,
          (3 + (c.from % blobs.length)) * 16,
        );
      for (const e of edits) {
        const pick = e.at % 3;
        if (pick === 0) write(b, (e.field % 4) * 4, 4, e.value);
        else if (pick === 1) write(b, (2 + (e.at % slotCount)) * 16 + (e.field % 4) * 4, 4, e.value);
        else {
          const slot = (2 + (e.at % blobs.length)) * 16;
          write(b, b.readUInt32LE(slot + 8) * 16 + (e.field % 4) * 4, 4, e.value);
        }
      }
      return b;
    });
}

/**
 * Berkeley DB hash files of real and fuzzed header blobs, damaged in the metadata page (page size,
 * last page), a page header (type, entries, next page, bytes used), an item offset on the hash
 * page, or an off-page item (type, first page, total length); overflow chains may be made to
 * share pages or loop.
 */
export function bdbArb(realBlobs: Buffer[]): fc.Arbitrary<Buffer> {
  return fc
    .record({
      pageSize: fc.constantFrom(512, 1024, 4096),
      blobs: fc.array(fc.oneof(fc.constantFrom(...realBlobs), headerArb), { minLength: 1, maxLength: 5 }),
      edits,
    })
    .map(({ pageSize, blobs, edits }) => {
      const b = buildBdb(blobs, pageSize);
      const pages = b.length / pageSize;
      for (const e of edits) {
        const page = e.at % pages;
        const base = page * pageSize;
        switch (e.field % 7) {
          case 0: // metadata: page size or last page
            write(b, e.at % 2 ? 20 : 32, 4, e.value);
            break;
          case 1: // page type
            write(b, base + 25, 1, e.value);
            break;
          case 2: // entries on the page
            write(b, base + 20, 2, e.value);
            break;
          case 3: // next page of an overflow chain
            write(b, base + 16, 4, e.value % (pages + 2));
            break;
          case 4: // bytes used on the page
            write(b, base + 22, 2, e.value);
            break;
          case 5: // an item offset on the hash page
            write(b, pageSize + BDB_HEADER + (e.at % (blobs.length * 2)) * 2, 2, e.value);
            break;
          default: {
            // an off-page item: its first page (often another item's) or its total length
            const off = b.readUInt16LE(pageSize + BDB_HEADER + ((e.at % blobs.length) * 2 + 1) * 2);
            write(
              b,
              pageSize + off + (e.width === 4 ? 8 : 4),
              4,
              e.width === 4 ? e.value : 2 + (e.value % pages),
            );
          }
        }
      }
      return b;
    });
}
