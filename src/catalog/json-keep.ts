import { CustomsError } from '../errors.js';

/*
 * Large JSON manifests (deps.json, package-lock.json, composer's installed.json, …) read without
 * ever holding the whole document (issue 28). JSON.parse of a valid 63 MiB deps.json naming 728,000
 * libraries built ~600 MB of objects and left the scan at 1.17 GiB RSS, mostly garbage the
 * collector had not yet reclaimed: nothing started after the process can lower its heap limit.
 *
 * Chosen over parsing in a worker thread with resourceLimits: a worker that reaches its limit
 * during one large allocation (JSON.parse growing one object's dictionary) aborts the whole
 * process instead of ending the worker (nodejs/node#47224, reproduced here with a 192 MB limit),
 * so a crafted file could kill a server and every scan on it. Reading keeps the bound in our
 * hands: only the fields the cataloger reads (`Keep`) are assembled, weighed as they are built,
 * and refused past MAX_KEPT with an error naming what was too large; the rest is validated as it
 * passes and never built.
 *
 * The reader scans the bytes itself (no tokens, no stream): the first version fed stream-json a
 * token object per value through a stream and took 163 ms for a 2.9 MiB package-lock.json that
 * JSON.parse reads in 53 ms (and 910 ms to refuse the 63 MiB deps.json); this one takes 46 ms and
 * 328 ms (bench/json-keep-bench.ts). It accepts exactly what JSON.parse accepts (test/json-keep
 * and the fuzz target hold it to that), and skipped nesting costs a byte per level.
 *
 * Files under STREAM_FROM are parsed with JSON.parse as before: faster still (about 2×), and the
 * garbage of a 1 MiB parse is a few megabytes. The two paths give the same values for every
 * field a `Keep` names (test/unit/catalog/json-keep.test.ts and the fuzz target compare them).
 */

/**
 * The fields a reader needs: `true` keeps a value whole; an object keeps, of an object, the keys
 * it names (`'*'`: any other key) and, of an array, the elements matching `'*'`. A scalar where a
 * shape is given is kept as it is; anything else is skipped without being built.
 */
export type Keep = true | { readonly [key: string]: Keep };

/**
 * Files from this size on are streamed (installed package.json files are a few KiB, lockfiles a
 * few hundred). The whole budget of dense JSON parsed whole (`[{},{},…]` under a key nobody
 * reads): 120 files of just under 4 MiB peaked at 1.13 GB, 480 of just under 1 MiB at 850 MB;
 * the 120 streamed, at 715 MB.
 */
export const STREAM_FROM = 1024 ** 2;

/**
 * Largest weight of the kept fields of one file: their characters plus WEIGHT per value, about
 * what they cost once built. A 14 MiB deps.json of 160,000 libraries keeps about 15 MiB; a
 * 63 MiB one of 728,000 about 70 MiB, and building that and its packages took the scan to
 * 950 MB RSS. Real lockfiles keep far less (a 50,000-package package-lock.json, about 12 MiB).
 * Eight 63 MiB files (the 512 MiB budget), each refused at 32 MiB kept, peaked at 1.03 GB.
 */
export const MAX_KEPT = 16 * 1024 ** 2;
const WEIGHT = { container: 48, entry: 16 };

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** The shape for a child: an exact key first, then '*'; `true` passes down whole. */
function childKeep(keep: Keep | undefined, key: string | undefined): Keep | undefined {
  if (keep === undefined || keep === true) return keep;
  if (key !== undefined && own(keep, key)) return keep[key];
  return own(keep, '*') ? keep['*'] : undefined;
}

/** Sets a property as JSON.parse does: "__proto__" is an own key, not the prototype. */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  else o[key] = value;
}

/** Thrown for text that is not JSON, at the byte where it stops being JSON. */
function notJson(b: Buffer, at: number): SyntaxError {
  return new SyntaxError(
    at >= b.length
      ? 'Unexpected end of JSON input'
      : `Unexpected character ${JSON.stringify(String.fromCharCode(b[at]))} in JSON at byte ${at}`,
  );
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Past JSON whitespace (the four characters JSON.parse allows). */
function ws(b: Buffer, i: number): number {
  for (let c = b[i]; c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = b[++i]);
  return i;
}

const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);

/**
 * End of the string opening at `i` (just past its closing quote), validated as JSON.parse would:
 * no raw control character, only JSON's escapes. Negative (-end) when it holds an escape.
 */
function stringEnd(b: Buffer, i: number): number {
  let escaped = false;
  for (let j = i + 1; ; j++) {
    const c = b[j];
    if (c === QUOTE) return escaped ? -(j + 1) : j + 1;
    if (c === BACKSLASH) {
      escaped = true;
      const e = b[++j];
      if (e === 0x75) {
        if (!(isHex(b[j + 1]) && isHex(b[j + 2]) && isHex(b[j + 3]) && isHex(b[j + 4]))) throw notJson(b, j);
        j += 4;
      } else if (
        e !== QUOTE &&
        e !== BACKSLASH &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      )
        throw notJson(b, j);
    } else if (c < 0x20 || c === undefined) throw notJson(b, j);
  }
}

/** The string opening at `i` and where it ends. */
function readString(b: Buffer, i: number): [string, number] {
  const end = stringEnd(b, i);
  // Escapes are rare in manifests: JSON.parse decodes exactly the slice already validated.
  if (end < 0) return [JSON.parse(b.toString('utf8', i, -end)) as string, -end];
  return [b.toString('utf8', i + 1, end - 1), end];
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** End of the number starting at `i`, by JSON's grammar (no leading zeros, no bare dot). */
function numberEnd(b: Buffer, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (b[i] >= 0x31 && b[i] <= 0x39) while (isDigit(b[++i]));
  else throw notJson(b, i);
  if (b[i] === 0x2e) {
    if (!isDigit(b[++i])) throw notJson(b, i);
    while (isDigit(b[++i]));
  }
  if ((b[i] | 0x20) === 0x65) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) throw notJson(b, i);
    while (isDigit(b[++i]));
  }
  return i;
}

/** End of the literal `word` (true, false, null) at `i`. */
function literalEnd(b: Buffer, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) throw notJson(b, i + k);
  return i + word.length;
}

/**
 * End of the value starting at `i`, validated but not built: what a reader skips. Nesting is
 * counted in a byte per level, not an object, so a file of a million `[` costs a megabyte.
 */
function skipValue(b: Buffer, i: number): number {
  let open = new Uint8Array(64); // 1: object, 2: array
  let depth = 0;
  for (;;) {
    // A value.
    i = ws(b, i);
    const c = b[i];
    if (c === 0x7b || c === 0x5b) {
      i = ws(b, i + 1);
      if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) i++;
      else {
        if (depth === open.length) {
          const grown = new Uint8Array(depth * 2);
          grown.set(open);
          open = grown;
        }
        open[depth++] = c === 0x7b ? 1 : 2;
        if (c === 0x7b) i = key(b, i);
        continue;
      }
    } else if (c === QUOTE) i = Math.abs(stringEnd(b, i));
    else if (c === 0x2d || isDigit(c)) i = numberEnd(b, i);
    else if (c === 0x74) i = literalEnd(b, i, 'true');
    else if (c === 0x66) i = literalEnd(b, i, 'false');
    else if (c === 0x6e) i = literalEnd(b, i, 'null');
    else throw notJson(b, i);
    // After a value: the next one in its container, or the containers it closes.
    for (;;) {
      if (depth === 0) return i;
      i = ws(b, i);
      const d = b[i];
      if (d === 0x2c) {
        i = open[depth - 1] === 1 ? key(b, ws(b, i + 1)) : i + 1;
        break;
      }
      if (d !== (open[depth - 1] === 1 ? 0x7d : 0x5d)) throw notJson(b, i);
      depth--;
      i++;
    }
  }
}

/** Past an object's key at `i` and the colon after it. */
function key(b: Buffer, i: number): number {
  if (b[i] !== QUOTE) throw notJson(b, i);
  i = ws(b, Math.abs(stringEnd(b, i)));
  if (b[i] !== 0x3a) throw notJson(b, i);
  return i + 1;
}

/** A key read whole (the reader may want it) and the position past its colon. */
function readKey(b: Buffer, i: number): [string, number] {
  if (b[i] !== QUOTE) throw notJson(b, i);
  const [k, end] = readString(b, i);
  const at = ws(b, end);
  if (b[at] !== 0x3a) throw notJson(b, at);
  return [k, at + 1];
}

type Frame = { into: Record<string, unknown> | unknown[]; keep: Keep; key: string | undefined };

/**
 * Parses `content` (UTF-8 JSON), building only what `keep` names and validating the rest as it
 * passes. Throws a CustomsError when what is kept weighs more than `maxKept`, a SyntaxError when
 * the text is not JSON.
 */
export function parseJsonKeptSync(content: Buffer, keep: Keep, maxKept = MAX_KEPT): unknown {
  const b = content;
  const stack: Frame[] = [];
  let weight = 0;
  const weigh = (n: number) => {
    weight += n;
    if (weight > maxKept)
      throw new CustomsError(
        `the fields read from it weigh more than ${Math.round(maxKept / 1024 ** 2)} MiB (a crafted file?)`,
      );
  };
  let i = 0;
  // What the next value is for: undefined when nobody reads it.
  let want: Keep | undefined = keep;
  for (;;) {
    // One value, built when wanted, else skipped.
    i = ws(b, i);
    const top = stack.length ? stack[stack.length - 1] : undefined;
    const keyLength = top?.key?.length ?? 0;
    let value: unknown;
    let kept = want !== undefined;
    if (!kept) i = skipValue(b, i);
    else {
      const c = b[i];
      if (c === 0x7b || c === 0x5b) {
        weigh(WEIGHT.container + keyLength);
        const frame: Frame = { into: c === 0x7b ? {} : [], keep: want!, key: undefined };
        i = ws(b, i + 1);
        if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
          value = frame.into;
          i++;
        } else {
          stack.push(frame);
          if (c === 0x7b) {
            const [k, at] = readKey(b, i);
            frame.key = k;
            i = at;
          }
          want = childKeep(frame.keep, frame.key);
          continue;
        }
      } else {
        if (c === QUOTE) [value, i] = readString(b, i);
        else if (c === 0x2d || isDigit(c)) {
          const end = numberEnd(b, i);
          value = Number(b.toString('latin1', i, end));
          i = end;
        } else if (c === 0x74) [value, i] = [true, literalEnd(b, i, 'true')];
        else if (c === 0x66) [value, i] = [false, literalEnd(b, i, 'false')];
        else if (c === 0x6e) [value, i] = [null, literalEnd(b, i, 'null')];
        else throw notJson(b, i);
        weigh(WEIGHT.entry + (typeof value === 'string' ? value.length : 0) + keyLength);
      }
    }
    // Place it, then close what it completes, up to the next value to read.
    for (;;) {
      const f = stack.length ? stack[stack.length - 1] : undefined;
      if (!f) {
        i = ws(b, i);
        if (i < b.length) throw notJson(b, i);
        return value;
      }
      if (kept) {
        if (Array.isArray(f.into)) f.into.push(value);
        else put(f.into, f.key!, value);
      }
      i = ws(b, i);
      const d = b[i];
      const isArray = Array.isArray(f.into);
      if (d === 0x2c) {
        i = ws(b, i + 1);
        if (!isArray) {
          const [k, at] = readKey(b, i);
          f.key = k;
          i = at;
        }
        want = childKeep(f.keep, f.key);
        break;
      }
      if (d !== (isArray ? 0x5d : 0x7d)) throw notJson(b, i);
      i++;
      stack.pop();
      value = f.into;
      kept = true;
    }
  }
}

/** parseJsonKeptSync as a promise: the interface the readers had when this streamed. */
export async function parseJsonKept(content: Buffer, keep: Keep, maxKept = MAX_KEPT): Promise<unknown> {
  return parseJsonKeptSync(content, keep, maxKept);
}

/**
 * `read` applied to the document of a JSON file: parsed whole by JSON.parse when small, read
 * keeping only `keep` from STREAM_FROM on.
 */
export function readJson<T>(content: Buffer, keep: Keep, read: (doc: never) => T): T | Promise<T> {
  if (content.length < STREAM_FROM) return read(JSON.parse(content.toString('utf8')) as never);
  return parseJsonKept(content, keep).then((doc) => read(doc as never));
}
