import { constants, inflateSync } from 'node:zlib';
import { firstBytes, isExecutable, type ProbeFactory } from '../image/probe.js';
import { probeCataloger } from './files.js';
import { cargoPurl } from './rust.js';

/*
 * Rust binaries built with `cargo auditable` carry their dependency tree in a `.dep-v0` section:
 * zlib-compressed JSON `{"packages":[{name, version, source, kind, root?}, …]}`. Section headers sit
 * at the end of an ELF file, after the data they describe, so instead of seeking the probe watches
 * the stream for a zlib header whose first inflated bytes are `{"packages":`, and keeps only that
 * stream. Written by hand: nothing in JavaScript reads this format.
 */

const PREFIX = '{"packages":';
const MAX_SECTION = 8 * 1024 * 1024;
const ZLIB_SECOND = new Set([0x01, 0x5e, 0x9c, 0xda]);

export interface AuditableDeps {
  packages: Array<{ name: string; version: string; source?: string; kind?: string; root?: boolean }>;
}

/** A real dependency list inflates to kilobytes; past this it is a zlib bomb, not a section. */
const MAX_INFLATED = 16 * 1024 * 1024;

/** Inflate what can be inflated of a (possibly truncated) zlib stream, never past MAX_INFLATED. */
function inflatePartial(buf: Buffer): string | undefined {
  // Most candidates fail; a failure's stack trace is never read, and capturing it costs.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return inflateSync(buf, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED }).toString(
      'utf8',
    );
  } catch {
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Where the JSON object at the start of `text` ends (index of its closing brace), in one pass
 * that skips strings; -1 when it does not close. (Parsing at every `}` from the end was quadratic.)
 */
export function jsonObjectEnd(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i;
      if (depth < 0) return -1;
    }
  }
  return -1;
}

/**
 * Can the deflate data at `at` (after the zlib header) start with `{`? Decided from its first bits
 * for stored and fixed-Huffman blocks, and a reserved block type is never valid. Binaries hold a
 * byte pair that looks like a zlib header every few kilobytes, and inflating each (a throw per
 * failure) was an eighth of a scan of a Debian base image.
 */
export function mayStartWithBrace(d: Buffer, at: number): boolean {
  let pos = at * 8;
  const bit = () => (d[pos >> 3] >> (pos++ & 7)) & 1;
  bit(); // BFINAL
  const type = bit() | (bit() << 1);
  if (type === 3) return false;
  if (type === 0) {
    // Stored: LEN and NLEN (its complement) at the next byte boundary, then the bytes themselves.
    const b = (pos + 7) >> 3;
    if (b + 5 > d.length) return false;
    const len = d.readUInt16LE(b);
    return len > 0 && (len ^ 0xffff) === d.readUInt16LE(b + 2) && d[b + 4] === 0x7b;
  }
  if (type === 1) {
    // Fixed Huffman: literals 0-143 are the 8-bit codes 0x30 + value, read most significant bit first.
    let code = 0;
    for (let i = 0; i < 8; i++) code = (code << 1) | bit();
    return code === 0x30 + 0x7b;
  }
  return true;
}

function looksAuditable(window: Buffer, at: number): boolean {
  if (at + 2 > window.length || ((window[at] << 8) | window[at + 1]) % 31 !== 0) return false;
  if (!mayStartWithBrace(window, at + 2)) return false;
  const head = inflatePartial(window.subarray(at, at + 96));
  return !!head && head.startsWith(PREFIX);
}

export const cargoAuditableProbe: ProbeFactory = {
  name: 'cargo-auditable',
  wants: (_path, mode, size) => (mode & 0o111) !== 0 && size > 16 * 1024,
  create() {
    let checked = false;
    let tail: Buffer = Buffer.alloc(0);
    let found: Buffer[] | undefined;
    let foundLen = 0;
    let stop = false;
    const gate = firstBytes(4);
    return {
      push(data: Buffer) {
        if (stop) return;
        const chunk = gate(data);
        if (!chunk) return;
        if (!checked) {
          checked = true;
          if (!isExecutable(chunk)) {
            stop = true;
            return;
          }
        }
        if (found) {
          if (foundLen < MAX_SECTION) {
            found.push(chunk);
            foundLen += chunk.length;
          }
          return;
        }
        const window = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        for (let i = window.indexOf(0x78); i >= 0 && i < window.length - 1; i = window.indexOf(0x78, i + 1)) {
          if (!ZLIB_SECOND.has(window[i + 1])) continue;
          // Too close to the end to judge: judge it with the next chunk (it is in the tail).
          if (window.length - i < 96) break;
          if (looksAuditable(window, i)) {
            found = [window.subarray(i)];
            foundLen = window.length - i;
            return;
          }
        }
        tail = window.subarray(Math.max(0, window.length - 96));
      },
      // Not an executable format: nothing to find in the rest.
      done: () => stop,
      finish(): AuditableDeps | undefined {
        if (!found) return undefined;
        const text = inflatePartial(Buffer.concat(found).subarray(0, MAX_SECTION));
        if (!text) return undefined;
        // The stream may be followed by other section data: the JSON ends where its object closes.
        const end = jsonObjectEnd(text);
        if (end < 0) return undefined;
        try {
          const doc = JSON.parse(text.slice(0, end + 1)) as AuditableDeps;
          return Array.isArray(doc.packages) ? doc : undefined;
        } catch {
          return undefined;
        }
      },
    };
  },
};

export const cargoAuditableCataloger = probeCataloger<AuditableDeps>({
  name: 'rust-binary',
  probe: cargoAuditableProbe,
  packages: (deps, where) =>
    deps.packages
      // Build-time dependencies (build scripts, proc macros) are not in the binary; the root
      // crate is the program itself.
      .filter((p) => p.name && p.version && p.kind !== 'build' && !p.root)
      .map((p) => ({
        name: p.name,
        version: p.version,
        type: 'cargo',
        licenses: [],
        purl: cargoPurl(p.name, p.version),
        foundBy: 'rust-binary',
        description: p.source && p.source !== 'crates.io' ? `from ${p.source}` : undefined,
        locations: [where],
        layer: where.layer,
      })),
});
