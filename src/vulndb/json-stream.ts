import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
// stream-json is CommonJS: its functions are properties of the default export.
import Chain from 'stream-chain';
import StreamJson from 'stream-json';
import Pick from 'stream-json/filters/Pick.js';
import StreamArray from 'stream-json/streamers/StreamArray.js';
import StreamObject from 'stream-json/streamers/StreamObject.js';
import { CustomsError } from '../errors.js';

/**
 * Large JSON feeds read one element at a time (stream-json), each element bounded: no string
 * longer than MAX_STRING, and no element weighing more than MAX_ITEM (roughly what it takes once
 * assembled: its characters, plus WEIGHT per object, array and value), so that one hostile element
 * (a 500 MB description, a CVE with millions of entries) is refused, naming the file, before it is
 * built in memory. A real CVE with 200,000 cpeMatch entries weighs about 60 MB.
 */
export const MAX_STRING = 4 * 1024 ** 2;
export const MAX_ITEM = 128 * 1024 ** 2;
const WEIGHT: Record<string, number> = {
  startObject: 48,
  startArray: 48,
  keyValue: 8,
  stringValue: 8,
  numberValue: 8,
  trueValue: 8,
  falseValue: 8,
  nullValue: 8,
};

type Token = { name: string; value?: string };

/**
 * The bounds above on the parser's tokens. An element is what lies deeper than `itemDepth`
 * (the elements of the top-level array under `vulnerabilities`: 2; the entries of a top-level
 * object: 1).
 */
export function tokenGuard(file: string, itemDepth: number): Transform {
  let depth = 0;
  let str = 0;
  let item = 0;
  const fail = (what: string) => new CustomsError(`${file}: ${what}; refused`);
  return new Transform({
    objectMode: true,
    transform(t: Token, _enc, cb) {
      switch (t.name) {
        case 'startObject':
        case 'startArray':
          depth++;
          break;
        case 'endObject':
        case 'endArray':
          depth--;
          break;
        case 'startString':
        case 'startKey':
        case 'startNumber':
          str = 0;
          break;
        case 'stringChunk':
        case 'numberChunk':
          str += t.value!.length;
          item += t.value!.length;
          if (str > MAX_STRING) return cb(fail(`a value is longer than ${MAX_STRING / 1024 ** 2} MiB`));
          break;
      }
      item += WEIGHT[t.name] ?? 0;
      // Back between elements: the next one starts afresh (a primitive element is bounded by MAX_STRING).
      if (depth <= itemDepth && t.name !== 'stringChunk' && t.name !== 'numberChunk') item = 0;
      if (item > MAX_ITEM)
        return cb(fail(`one element is larger than ${MAX_ITEM / 1024 ** 2} MiB (of strings and entries)`));
      cb(null, t);
    },
  });
}

/** The chain from a file (gzip or not) to the parser's bounded tokens. */
function tokens(path: string, gz: boolean, file: string, itemDepth: number): unknown[] {
  return [
    createReadStream(path),
    ...(gz ? [createGunzip()] : []),
    StreamJson.parser(),
    tokenGuard(file, itemDepth),
  ];
}

/** The elements of a top-level key's array (NVD: `vulnerabilities`), one at a time. */
export function streamArrayOf(path: string, gz: boolean, file: string, key: string): AsyncIterable<unknown> {
  const chain = Chain.chain([
    ...tokens(path, gz, file, 2),
    Pick.pick({ filter: key }),
    StreamArray.streamArray(),
  ] as never);
  return (async function* () {
    for await (const { value } of chain as AsyncIterable<{ value: unknown }>) yield value;
  })();
}

/** The entries of a top-level object (a document keyed by package), one at a time. */
export function streamEntries(
  path: string,
  gz: boolean,
  file: string,
): AsyncIterable<{ key: string; value: unknown }> {
  return Chain.chain([...tokens(path, gz, file, 1), StreamObject.streamObject()] as never) as AsyncIterable<{
    key: string;
    value: unknown;
  }>;
}
