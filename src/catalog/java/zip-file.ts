import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/**
 * A zip read by random access from a file: the central directory, then only the entries asked
 * for. How a large Java archive is read without holding it: the archive is spooled to disk as it
 * streams past (its directory is at the end) and memory holds one wanted entry at a time.
 */

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  /** The uncompressed size the directory declares. */
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 65_535;

export class ZipFile {
  private constructor(
    private readonly fd: number,
    readonly bytes: number,
    readonly entries: ZipEntry[],
  ) {}

  /** Reads the directory; throws on a file that is not a zip or whose directory is over `maxDirectoryBytes`. */
  static open(path: string, maxDirectoryBytes: number): ZipFile {
    const fd = openSync(path, 'r');
    try {
      const bytes = fstatSync(fd).size;
      return new ZipFile(fd, bytes, directory(fd, bytes, maxDirectoryBytes));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** An entry's bytes: stored as they are, deflated inflated, never past the declared size. */
  read(e: ZipEntry): Uint8Array {
    const head = this.at(e.localOffset, 30);
    if (head.readUInt32LE(0) !== LOCAL)
      throw new Error(`${e.name}: no local header where the directory says`);
    const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
    const data = this.at(start, e.compressedSize);
    if (e.method === 0) return data;
    if (e.method !== 8) throw new Error(`${e.name}: unknown compression method ${e.method}`);
    if (e.size === 0) return new Uint8Array(0);
    try {
      return inflateRawSync(data, { maxOutputLength: e.size });
    } catch (err) {
      throw new Error(`${e.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private at(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.bytes)
      throw new Error(`reads past the end of the archive (${offset}+${length} of ${this.bytes})`);
    return readAt(this.fd, offset, length);
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let got = 0; got < length;) {
    const n = readSync(fd, b, got, length - got, offset + got);
    if (n === 0) throw new Error('the archive ends early');
    got += n;
  }
  return b;
}

function directory(fd: number, bytes: number, maxDirectoryBytes: number): ZipEntry[] {
  const tailLen = Math.min(bytes, 22 + MAX_COMMENT + 20);
  const tailAt = bytes - tailLen;
  const tail = readAt(fd, tailAt, tailLen);
  let e = tailLen - 22;
  while (e >= 0 && tail.readUInt32LE(e) !== EOCD) e--;
  if (e < 0) throw new Error('invalid zip data (no end of central directory)');
  let count = tail.readUInt16LE(e + 10);
  let cdSize = tail.readUInt32LE(e + 12);
  let cdOffset = tail.readUInt32LE(e + 16);
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && e >= 20) {
    if (tail.readUInt32LE(e - 20) === LOCATOR64) {
      const at = Number(tail.readBigUInt64LE(e - 20 + 8));
      if (at + 56 > bytes) throw new Error('invalid zip64 end of central directory');
      const z = readAt(fd, at, 56);
      if (z.readUInt32LE(0) !== EOCD64) throw new Error('invalid zip64 end of central directory');
      count = Number(z.readBigUInt64LE(32));
      cdSize = Number(z.readBigUInt64LE(40));
      cdOffset = Number(z.readBigUInt64LE(48));
    }
  }
  if (cdSize > maxDirectoryBytes)
    throw new Error(`its central directory is ${cdSize} bytes, more than the ${maxDirectoryBytes} read`);
  if (cdOffset + cdSize > bytes) throw new Error('invalid zip data (the directory lies past the end)');
  const cd = readAt(fd, cdOffset, cdSize);
  const out: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL)
      throw new Error('invalid zip data (directory entry)');
    const flags = cd.readUInt16LE(p + 8);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > cd.length) throw new Error('invalid zip data (directory entry)');
    const raw = cd.subarray(p + 46, p + 46 + nameLen);
    const entry: ZipEntry = {
      name: raw.toString(flags & 0x800 ? 'utf8' : 'latin1'),
      method: cd.readUInt16LE(p + 10),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localOffset: cd.readUInt32LE(p + 42),
    };
    zip64Extra(cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), entry);
    out.push(entry);
    p = end;
  }
  return out;
}

/** Sizes and offset too large for 32 bits are in the zip64 extra field, in this order, when marked. */
function zip64Extra(extra: Buffer, e: ZipEntry): void {
  for (let q = 0; q + 4 <= extra.length;) {
    const id = extra.readUInt16LE(q);
    const len = extra.readUInt16LE(q + 2);
    if (id === 0x0001) {
      let r = q + 4;
      const next = () => {
        if (r + 8 > q + 4 + len || r + 8 > extra.length) throw new Error('invalid zip64 extra field');
        const v = Number(extra.readBigUInt64LE(r));
        r += 8;
        return v;
      };
      if (e.size === 0xffffffff) e.size = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localOffset === 0xffffffff) e.localOffset = next();
      return;
    }
    q += 4 + len;
  }
}
