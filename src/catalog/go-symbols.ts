import { firstBytes, isExecutable, type ProbeFactory } from '../image/probe.js';

/*
 * The function names a Go binary holds, for reachability: a Go advisory lists the vulnerable
 * functions (`ecosystem_specific.imports[].symbols`), and the linker drops every function a
 * program cannot call, so an advisory none of whose functions is in the binary cannot affect it.
 * The names sit in the pcln table's function-name table (`.gopclntab`, kept by stripped binaries
 * too: the runtime needs it), which also names functions inlined into others. The table starts
 * with a header (magic 0xfffffff0 for Go 1.18–1.19, 0xfffffff1 for 1.20+, 0xfffffffa for
 * 1.16–1.17) whose offsets give the name table's place after it, so the probe finds the header as
 * the bytes stream past and keeps only that range. Written by hand: nothing in JavaScript reads
 * this format. Older binaries (before 1.16) are not read: their findings stay by version.
 */

const MAX_NAMES = 64 * 1024 * 1024;
/** Longest header: magic, 4 bytes, 8 pointer-sized fields. */
const HEADER = 8 + 8 * 8;

const PATTERNS = [0xf1, 0xf0, 0xfa].flatMap((m) => [
  Buffer.from([m, 0xff, 0xff, 0xff, 0, 0]),
  Buffer.from([0xff, 0xff, 0xff, m, 0, 0]),
]);

interface Header {
  /** Offsets of the name table, from the header's start. */
  from: number;
  to: number;
}

/** The pcln header at `at`, when it is one (every offset in order and in bounds). */
export function parsePclnHeader(b: Buffer, at: number): Header | undefined {
  const le = b[at + 3] === 0xff;
  const magic = le ? b.readUInt32LE(at) : b.readUInt32BE(at);
  const fields = magic === 0xfffffff0 || magic === 0xfffffff1 ? 8 : magic === 0xfffffffa ? 7 : 0;
  if (!fields || b[at + 4] !== 0 || b[at + 5] !== 0) return undefined;
  const minLC = b[at + 6];
  const ptr = b[at + 7];
  if (![1, 2, 4].includes(minLC) || (ptr !== 4 && ptr !== 8)) return undefined;
  if (at + 8 + fields * ptr > b.length) return undefined;
  const field = (i: number) => {
    const o = at + 8 + i * ptr;
    if (ptr === 4) return le ? b.readUInt32LE(o) : b.readUInt32BE(o);
    const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
  };
  const nfunc = field(0);
  // 1.18+: nfunc, nfiles, textStart, funcname, cu, filetab, pctab, pcln; 1.16: no textStart.
  const first = fields === 8 ? 3 : 2;
  const offs = [field(first), field(first + 1), field(first + 2), field(first + 3), field(first + 4)];
  if (nfunc <= 0 || nfunc > 10_000_000) return undefined;
  if (offs[0] < 8 + fields * ptr) return undefined;
  for (let i = 1; i < offs.length; i++) if (offs[i] <= offs[i - 1] || offs[i] > 2 ** 31) return undefined;
  if (offs[1] - offs[0] > MAX_NAMES) return undefined;
  return { from: offs[0], to: offs[1] };
}

/** Looks like a table of Go function names (a stray magic elsewhere in a binary does not). */
function looksLikeNames(b: Buffer): boolean {
  const sample = b.subarray(0, 4096).toString('latin1').split('\0').filter(Boolean);
  const named = sample.filter((n) => /^[\x21-\x7e]+$/.test(n) && n.includes('.'));
  return sample.length >= 3 && named.length >= sample.length * 0.75;
}

export interface GoSymbolTable {
  /** The name table as the binary holds it: names separated by NUL. */
  names: Buffer;
}

export const goSymbolsProbe: ProbeFactory = {
  name: 'go-symbols',
  wants: (_path, mode, size) => (mode & 0o111) !== 0 && size > 64 * 1024,
  create(path, budget) {
    let pos = 0;
    let tail: Buffer = Buffer.alloc(0);
    let stop = false;
    // The table as it streams past, copied (and counted against the scan's memory budget) as the
    // bytes arrive: a header may claim any size, the file must hold it.
    let capture: { start: number; end: number; parts: Buffer[]; filled: number } | undefined;
    const gate = firstBytes(4);
    const copy = (data: Buffer, dataPos: number) => {
      const c = capture!;
      const from = Math.max(c.start + c.filled, dataPos);
      const to = Math.min(c.end, dataPos + data.length);
      if (to > from) {
        budget?.take(to - from, `${path}: Go symbol table`);
        c.parts.push(Buffer.from(data.subarray(from - dataPos, to - dataPos)));
        c.filled += to - from;
      }
    };
    return {
      push(data: Buffer) {
        if (stop) return;
        const chunk = gate(data);
        if (!chunk) return;
        if (pos === 0 && !isExecutable(chunk)) {
          stop = true;
          return;
        }
        if (capture) {
          copy(chunk, pos);
          pos += chunk.length;
          return;
        }
        const window = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        const windowPos = pos + chunk.length - window.length;
        pos += chunk.length;
        // The magic and the two zero pad bytes, in either byte order (a native byte search).
        for (const pattern of PATTERNS) {
          for (
            let at = window.indexOf(pattern);
            at >= 0 && at + HEADER <= window.length;
            at = window.indexOf(pattern, at + 1)
          ) {
            const h = parsePclnHeader(window, at);
            if (!h) continue;
            capture = { start: windowPos + at + h.from, end: windowPos + at + h.to, parts: [], filled: 0 };
            copy(window.subarray(at), windowPos + at);
            return;
          }
        }
        tail = window.subarray(Math.max(0, window.length - HEADER));
      },
      done: () => stop || (capture !== undefined && capture.start + capture.filled >= capture.end),
      finish(): GoSymbolTable | undefined {
        if (!capture || capture.start + capture.filled < capture.end) return undefined;
        const names = Buffer.concat(capture.parts);
        return looksLikeNames(names) ? { names } : undefined;
      },
    };
  },
};

/**
 * `s` without its `[…]` segments (type parameters). By hand, not `/\[[^\]]*\]/g`: on a name of
 * unclosed brackets that pattern rescans the rest from every `[` (quadratic: a crafted 40,000-`[`
 * name took a second, a megabyte one hours). With no `]` after a `[` there is nothing more to drop.
 */
function dropBrackets(s: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const open = s.indexOf('[', at);
    const close = open < 0 ? -1 : s.indexOf(']', open);
    if (close < 0) return at === 0 ? s : out + s.slice(at);
    out += s.slice(at, open);
    at = close + 1;
  }
}

/**
 * A function name as advisories write symbols, with its package: `net/http.(*Client).Do` →
 * `net/http` and `Client.Do`; type parameters and method-value suffixes dropped.
 */
export function symbolOf(name: string): { pkg: string; symbol: string } | undefined {
  let cut = name.length;
  for (const c of ['(', '[']) {
    const i = name.indexOf(c);
    if (i >= 0 && i < cut) cut = i;
  }
  const slash = name.lastIndexOf('/', cut);
  const dot = name.indexOf('.', slash + 1);
  if (dot <= 0) return undefined;
  const symbol = dropBrackets(name.slice(dot + 1))
    .replace(/^\(\*?([^)]+)\)/, '$1')
    .replace(/-fm$/, '');
  // The linker writes a dot in a path's last element as %2e (gopkg.in/yaml%2ev3.Unmarshal).
  return symbol ? { pkg: name.slice(0, dot).replace(/%2e/gi, '.'), symbol } : undefined;
}

/**
 * The binary's functions as `package.Symbol`, grouped by the module (or `stdlib`) owning the
 * package. A closure (`F.func1`) also counts for the function it is in.
 */
export function symbolsByModule(table: GoSymbolTable, modules: string[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  // The owner is the longest module path that is the package path or a prefix of it ending at a
  // slash (a nested module owns its packages). Module paths go into a trie by path element, and a
  // package path is walked down it once: linear in the name, whatever the number of modules.
  interface Node {
    next: Map<string, Node>;
    module?: string;
  }
  const root: Node = { next: new Map() };
  for (const m of modules) {
    let n = root;
    for (const el of m.split('/')) {
      let c = n.next.get(el);
      if (!c) n.next.set(el, (c = { next: new Map() }));
      n = c;
    }
    n.module = m;
  }
  const owners = new Map<string, string | undefined>();
  const ownerOf = (pkg: string): string | undefined => {
    if (owners.has(pkg)) return owners.get(pkg);
    let owner: string | undefined;
    let n: Node | undefined = root;
    for (let at = 0; n;) {
      const slash = pkg.indexOf('/', at);
      n = n.next.get(pkg.slice(at, slash < 0 ? undefined : slash));
      if (n?.module !== undefined) owner = n.module;
      if (slash < 0) break;
      at = slash + 1;
    }
    owners.set(pkg, owner);
    return owner;
  };
  for (const raw of table.names.toString('utf8').split('\0')) {
    const s = raw ? symbolOf(raw) : undefined;
    if (!s) continue;
    const first = s.pkg.split('/')[0];
    const owner =
      s.pkg === 'main' || first.startsWith('go:') || first.startsWith('type:')
        ? undefined
        : !first.includes('.')
          ? 'stdlib'
          : ownerOf(s.pkg);
    if (!owner) continue;
    let set = out.get(owner);
    if (!set) out.set(owner, (set = new Set()));
    set.add(`${s.pkg}.${s.symbol}`);
    const outer = s.symbol.replace(/(\.func\d+)+$/, '');
    if (outer !== s.symbol) set.add(`${s.pkg}.${outer}`);
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}
