import { Readable } from 'node:stream';
// stream-json is CommonJS: its functions are properties of the default export.
import StreamJson from 'stream-json';
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
 * so a crafted file could kill a server and every scan on it. Streaming keeps the bound in our
 * hands: stream-json's tokens are short-lived (young-generation garbage), and only the fields
 * the cataloger reads (`Keep`) are assembled, weighed as they are built, and refused past
 * MAX_KEPT with an error naming what was too large.
 *
 * Files under STREAM_FROM are parsed with JSON.parse as before: faster (about 10×), and the
 * garbage of a 1 MiB parse is a few megabytes. The two paths give the same values for every
 * field a `Keep` names (test/json-keep.test.ts and the fuzz target compare them).
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
const CHUNK = 64 * 1024;

type Token = { name: string; value?: string };
type Frame = {
  /** The object or array being built; undefined while skipping a value nobody reads. */
  into: Record<string, unknown> | unknown[] | undefined;
  keep: Keep | undefined;
  key?: string;
};

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

/**
 * Parses `content` (UTF-8 JSON) streaming, building only what `keep` names. Throws a CustomsError
 * when what is kept weighs more than `maxKept`, an Error when the text is not JSON.
 */
export async function parseJsonKept(content: Buffer, keep: Keep, maxKept = MAX_KEPT): Promise<unknown> {
  const parser = StreamJson.parser({ streamValues: false });
  let root: unknown;
  let done = false;
  let weight = 0;
  const stack: Frame[] = [];
  // What the next value is for: the top frame's pending key or next element, or the root.
  const place = (value: unknown) => {
    const top = stack[stack.length - 1];
    if (!top) {
      root = value;
      done = true;
    } else if (Array.isArray(top.into)) top.into.push(value);
    else if (top.into) put(top.into, top.key!, value);
  };
  const wanted = (): Keep | undefined => {
    const top = stack[stack.length - 1];
    if (!top) return keep;
    return Array.isArray(top.into) ? childKeep(top.keep, undefined) : childKeep(top.keep, top.key);
  };
  const weigh = (n: number) => {
    weight += n;
    if (weight > maxKept)
      throw new CustomsError(
        `the fields read from it weigh more than ${Math.round(maxKept / 1024 ** 2)} MiB (a crafted file?)`,
      );
  };
  const onToken = (t: Token) => {
    const top = stack[stack.length - 1];
    if (top && top.into === undefined) {
      // Skipping: only nesting matters.
      if (t.name === 'startObject' || t.name === 'startArray')
        stack.push({ into: undefined, keep: undefined });
      else if (t.name === 'endObject' || t.name === 'endArray') stack.pop();
      return;
    }
    if (t.name === 'keyValue') {
      top!.key = t.value!;
      return;
    }
    if (t.name === 'endObject' || t.name === 'endArray') {
      const f = stack.pop()!;
      place(f.into);
      return;
    }
    const k = wanted();
    if (t.name === 'startObject' || t.name === 'startArray') {
      if (k === undefined) {
        stack.push({ into: undefined, keep: undefined });
        return;
      }
      weigh(WEIGHT.container + (top && !Array.isArray(top.into) ? top.key!.length : 0));
      stack.push({ into: t.name === 'startObject' ? {} : [], keep: k });
      return;
    }
    if (k === undefined) return;
    const value =
      t.name === 'stringValue'
        ? t.value!
        : t.name === 'numberValue'
          ? Number(t.value)
          : t.name === 'trueValue'
            ? true
            : t.name === 'falseValue'
              ? false
              : null;
    weigh(
      WEIGHT.entry +
        (typeof value === 'string' ? value.length : 0) +
        (top && !Array.isArray(top.into) ? top.key!.length : 0),
    );
    place(value);
  };
  await new Promise<void>((resolve, reject) => {
    const source = Readable.from(
      (function* () {
        for (let at = 0; at < content.length; at += CHUNK) yield content.subarray(at, at + CHUNK);
      })(),
    );
    const fail = (err: Error) => {
      source.destroy();
      parser.destroy();
      reject(err);
    };
    parser.on('data', (t: Token) => {
      try {
        onToken(t);
      } catch (err) {
        fail(err as Error);
      }
    });
    parser.on('error', fail);
    parser.on('end', resolve);
    source.pipe(parser);
  });
  if (!done) throw new Error('unexpected end of JSON input');
  return root;
}

/**
 * `read` applied to the document of a JSON file: parsed whole by JSON.parse when small, streamed
 * keeping only `keep` from STREAM_FROM on.
 */
export function readJson<T>(content: Buffer, keep: Keep, read: (doc: never) => T): T | Promise<T> {
  if (content.length < STREAM_FROM) return read(JSON.parse(content.toString('utf8')) as never);
  return parseJsonKept(content, keep).then((doc) => read(doc as never));
}
