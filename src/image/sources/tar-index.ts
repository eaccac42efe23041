import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { CustomsError } from '../../errors.js';
import { normalizeEntryPath } from '../paths.js';

/**
 * Where each entry of an uncompressed tar file sits, found by hopping from header to header
 * (seeks, no reading of contents), so blobs can then be read by byte range and in parallel.
 * Written by hand because tar-stream only streams; handles ustar prefixes, GNU long names
 * (`L`/`K`) and pax `path`/`linkpath`/`size` records, the forms image archives use.
 */
export interface TarIndexEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'link' | 'other';
  offset: number;
  size: number;
  linkname?: string;
}

const BLOCK = 512;

/** Long names and pax records larger than this are not real archives. */
const MAX_META = 1024 * 1024;

function str(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? s.length : z).toString('utf8');
}

function num(b: Buffer, start: number, len: number): number {
  // Base-256 (GNU) for sizes past 8 GiB; octal otherwise.
  if (b[start] & 0x80) {
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i];
    return v;
  }
  const t = str(b, start, len).trim();
  return t ? parseInt(t, 8) : 0;
}

function paxRecords(data: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(' ', i);
    if (sp < 0) break;
    const len = Number(data.slice(i, sp));
    if (!len) break;
    const rec = data.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

export function indexTar(file: string): TarIndexEntry[] {
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const out: TarIndexEntry[] = [];
    const h = Buffer.alloc(BLOCK);
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    while (pos + BLOCK <= total) {
      readSync(fd, h, 0, BLOCK, pos);
      if (h.every((x) => x === 0)) break; // end of archive
      const magicOk = str(h, 257, 6).startsWith('ustar');
      // Header checksum: sum of the header with the checksum field as spaces.
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
      if (sum !== num(h, 148, 8)) throw new CustomsError(`corrupt tar header at byte ${pos}`);
      const typeflag = String.fromCharCode(h[156] || 0x30);
      let size = num(h, 124, 12);
      if (pax.size !== undefined) size = /^\d+$/.test(pax.size) ? Number(pax.size) : NaN;
      // A negative or unreadable size would move the cursor backwards (an endless loop).
      if (!Number.isSafeInteger(size) || size < 0)
        throw new CustomsError(`corrupt tar entry at byte ${pos}: bad size ${pax.size ?? 'field'}`);
      if ((typeflag === 'L' || typeflag === 'K' || typeflag === 'x') && size > MAX_META)
        throw new CustomsError(`corrupt tar entry at byte ${pos}: a ${size}-byte extended header`);
      const dataStart = pos + BLOCK;
      const next = dataStart + Math.ceil(size / BLOCK) * BLOCK;
      if (next > total)
        throw new CustomsError(`archive is truncated: an entry at byte ${pos} runs past the end`);
      if (typeflag === 'L' || typeflag === 'K' || typeflag === 'x') {
        const data = Buffer.alloc(size);
        readSync(fd, data, 0, size, dataStart);
        if (typeflag === 'L') longName = str(data, 0, size);
        else if (typeflag === 'K') longLink = str(data, 0, size);
        else pax = paxRecords(data.toString('utf8'));
        pos = next;
        continue;
      }
      if (typeflag === 'g') {
        pos = next;
        continue;
      }
      const prefix = magicOk ? str(h, 345, 155) : '';
      const rawName = pax.path ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
      const linkname = pax.linkpath ?? longLink ?? str(h, 157, 100);
      const type =
        typeflag === '0' || typeflag === '7' || typeflag === '\0'
          ? 'file'
          : typeflag === '5'
            ? 'dir'
            : typeflag === '2'
              ? 'symlink'
              : typeflag === '1'
                ? 'link'
                : 'other';
      const name = normalizeEntryPath(rawName);
      out.push({
        name,
        type,
        offset: dataStart,
        size: type === 'file' ? size : 0,
        linkname: linkname || undefined,
      });
      longName = longLink = undefined;
      pax = {};
      pos = next;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
