import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CustomsError } from '../../../src/errors.js';
import { parseJsonKept, readJson, STREAM_FROM, type Keep } from '../../../src/catalog/json-keep.js';
import { JSON_READERS } from '../../fuzz/json-readers.js';
import { depsJson } from '../../helpers/big-image.js';
import { shared } from '../../helpers/paths.js';

/** Every file under `dir` (recursively) whose name matches. */
function files(dir: string, name: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p, name));
    else if (name.test(e)) out.push(p);
  }
  return out;
}

describe('JSON manifests streamed past their size keep what the catalogers read (issue 28)', () => {
  it('every real JSON manifest of the fixtures: the same packages streamed as parsed whole', async () => {
    let compared = 0;
    for (const r of JSON_READERS) {
      const found: Array<[string, Buffer]> = [
        ...files(shared('fixtures'), r.file).map((f): [string, Buffer] => [f, readFileSync(f)]),
        ...(r.samples ?? []).map((b): [string, Buffer] => [`${r.name} sample`, b]),
      ];
      assert.ok(found.length > 0, `no fixture for ${r.name}`);
      for (const [f, b] of found) {
        let whole: unknown;
        try {
          whole = r.read(JSON.parse(b.toString('utf8')) as never);
        } catch {
          continue; // fixtures of broken files: the cataloger's warning path, tested elsewhere
        }
        assert.deepEqual(r.read((await parseJsonKept(b, r.keep)) as never), whole, f);
        compared++;
      }
    }
    assert.ok(compared >= 40, `${compared} files compared`);
  });

  it('builds only the fields named, as JSON.parse builds them', async () => {
    const keep: Keep = { a: { '*': { x: true } }, b: true, '*': { n: true } };
    const text =
      '{"a":[{"x":[1,{"y":null}],"z":"gone"},5,{"x":"\\u00e9\\ud83d\\ude00\\n"}],"b":{"deep":[[[-0.5e2]]]},' +
      '"__proto__":{"n":1e400,"m":2},"c":{"n":true,"skip":{"q":[{}]}},"skipped":[1,2,{"k":3}],"b":{"again":false}}';
    const doc = (await parseJsonKept(Buffer.from(text), keep)) as Record<string, unknown>;
    assert.deepEqual(doc, {
      a: [{ x: [1, { y: null }] }, 5, { x: 'é😀\n' }],
      b: { again: false },
      ['__proto__']: { n: Infinity },
      c: { n: true },
      skipped: [],
    });
    // "__proto__" is an own key, as JSON.parse makes it, not the object's prototype.
    assert.equal(Object.getPrototypeOf(doc), Object.prototype);
    assert.ok(Object.hasOwn(doc, '__proto__'));
    assert.deepEqual(Object.keys(doc), Object.keys(JSON.parse(text) as object));
    for (const scalar of ['7', '"s"', 'null', 'false'])
      assert.deepEqual(await parseJsonKept(Buffer.from(scalar), keep), JSON.parse(scalar));
  });

  it('text that is not JSON is refused, as JSON.parse refuses it', async () => {
    for (const bad of ['', '{', '{"a":1', '{"a":1}}', '[1,]', '{"a" 1}', 'nul', '"\u0001"', '{} {}'])
      await assert.rejects(parseJsonKept(Buffer.from(bad), true), `accepted ${JSON.stringify(bad)}`);
  });

  it('accepts exactly what JSON.parse accepts, kept whole or skipped, and reads the same values', async () => {
    const texts = [
      ' \t\r\n[1] \n',
      '\f[1]',
      '\v[1]',
      '\u00a0[1]',
      '\ufeff{"a":1}',
      '01',
      '-',
      '-0',
      '1.',
      '.5',
      '1e',
      '1E+2',
      '1e-2',
      '-12.5e+3',
      '+1',
      '0x1',
      'Infinity',
      'NaN',
      'tru',
      'truex',
      'nulll',
      '"\\u00zz"',
      '"\\ud800"',
      '"\\x41"',
      '"\\/\\b\\f\\n\\r\\t\\\\\\""',
      '"tab\\there"',
      '"raw\ttab"',
      '"\\u007f\\u0000"',
      '"\u0080"',
      '[1,,2]',
      '[,]',
      '{"a":1,}',
      '{,"a":1}',
      '{"a":1 "b":2}',
      '{"a"}',
      '{1:2}',
      "{'a':1}",
      '{"a":[}',
      '{"a":{]}',
      '[1 2]',
      '[[[]]]]',
      '[[[]]',
      '{"a":{"b":{"c":[1,{"d":"e"}]}}}',
      '  ',
    ];
    const keeps: Keep[] = [true, {}, { a: true }, { '*': {} }, { a: { b: true } }];
    const bytes = [Buffer.from([0x22, 0xff, 0xfe, 0x41, 0x22]), Buffer.from([0x22, 0xe2, 0x82, 0x22])];
    for (const b of [...texts.map((t) => Buffer.from(t)), ...bytes]) {
      let whole: unknown;
      let ok = true;
      try {
        whole = JSON.parse(b.toString('utf8'));
      } catch {
        ok = false;
      }
      for (const keep of keeps) {
        const got = parseJsonKept(b, keep);
        if (!ok) await assert.rejects(got, SyntaxError, `accepted ${JSON.stringify(b.toString())}`);
        else if (keep === true) assert.deepEqual(await got, whole, JSON.stringify(b.toString()));
        else await got;
      }
    }
  });

  it('random edits of a manifest: refused exactly when JSON.parse refuses, else the same values', async () => {
    const base = Buffer.from(
      JSON.stringify({
        libraries: {
          'A/1.0': { type: 'package', n: -1.5e3, ok: true, no: null },
          'B/2': { deps: [1, [2, {}]] },
        },
        s: 'x\u00e9\n"q"',
      }),
    );
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1664525 + 1013904223) >>> 0) % n;
    const alphabet = Buffer.from('{}[]",:\\ 0123456789-+.eEtrufalsn\nxu');
    let refused = 0;
    for (let k = 0; k < 4000; k++) {
      const b = Buffer.from(base);
      for (let e = 1 + rand(3); e > 0; e--) b[rand(b.length)] = alphabet[rand(alphabet.length)];
      let whole: unknown;
      try {
        whole = JSON.parse(b.toString('utf8'));
      } catch {
        refused++;
        await assert.rejects(parseJsonKept(b, true), SyntaxError, b.toString());
        await assert.rejects(parseJsonKept(b, { libraries: { '*': {} } }), SyntaxError, b.toString());
        continue;
      }
      assert.deepEqual(await parseJsonKept(b, true), whole, b.toString());
    }
    assert.ok(refused > 1000 && refused < 4000, `${refused} of 4000 refused`);
  });

  it('nesting nobody reads costs no frame per level', async () => {
    const deep = Buffer.from(`{"skip":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)},"a":1}`);
    assert.deepEqual(await parseJsonKept(deep, { a: true }), { a: 1 });
    await assert.rejects(parseJsonKept(deep.subarray(0, deep.length - 10), { a: true }), SyntaxError);
  });

  it('past MAX_KEPT the file is refused, saying why', async () => {
    const b = depsJson(2 * 1024 * 1024, 3);
    const keep = JSON_READERS.find((r) => r.name === 'deps.json')!.keep;
    await assert.rejects(
      parseJsonKept(b, keep, 1024 * 1024),
      (err: Error) =>
        err instanceof CustomsError && /the fields read from it weigh more than 1 MiB/.test(err.message),
    );
    // What is not kept does not count: the same file keeping only the runtime target fits.
    assert.deepEqual(await parseJsonKept(b, { runtimeTarget: true }, 1024 * 1024), {});
  });

  it('readJson streams from STREAM_FROM on and gives the same answer either way', async () => {
    const r = JSON_READERS.find((x) => x.name === 'deps.json')!;
    const big = depsJson(STREAM_FROM + 1024, 4);
    const streamed = readJson(big, r.keep, r.read);
    assert.ok(streamed instanceof Promise, 'a large file is streamed');
    assert.deepEqual(await streamed, r.read(JSON.parse(big.toString('utf8')) as never));
    const small = depsJson(64 * 1024, 5);
    assert.ok(!(readJson(small, r.keep, r.read) instanceof Promise), 'a small file is parsed whole');
  });
});
