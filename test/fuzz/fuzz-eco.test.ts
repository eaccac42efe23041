import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDcf, parseRenvLock } from '../../src/catalog/cran.js';
import { parseMixLock } from '../../src/catalog/hex.js';
import { parsePubspecLock } from '../../src/catalog/pub.js';
import { apply, mutation } from './mutate.js';
import { judge, type Target } from './targets.js';
import { shared } from '../helpers/paths.js';

/*
 * The parsers the CRAN, Hex and Pub catalogers added, fuzzed as test/fuzz/fuzz.test.ts fuzzes the
 * others (mutated real-shaped inputs, fixed seed): their catalogers turn any exception into a
 * warning, so what counts is hangs and memory.
 */
const RUNS = Number(process.env.CUSTOMS_FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.CUSTOMS_FUZZ_SEED ?? 20261130);

const DESCRIPTION =
  'Package: jsonlite\nVersion: 1.8.7\nTitle: A Simple and Robust JSON Parser\n  and Generator for R\n' +
  'License: MIT + file LICENSE\nDepends: methods\nRepository: CRAN\nBuilt: R 4.3.1; ; 2023-09-01; unix\n';
const RENV =
  '{"R":{"Version":"4.3.1","Repositories":[{"Name":"CRAN","URL":"https://cloud.r-project.org"}]},' +
  '"Packages":{"jsonlite":{"Package":"jsonlite","Version":"1.8.7","Source":"Repository","Repository":"CRAN",' +
  '"Hash":"266a20443ca13c65688b2116d5220f76"},"renv":{"Package":"renv","Version":"1.0.3","Source":"Repository"}}}';

const lf = (name: string, seed: Buffer, parse: (t: string) => unknown): Target => ({
  name,
  seeds: [seed],
  run: (b) => parse(b.toString('utf8')),
  anyErrorIsFine: true,
});
const TARGETS: Target[] = [
  lf('R DESCRIPTION (Debian Control Format)', Buffer.from(DESCRIPTION), parseDcf),
  lf('renv.lock', Buffer.from(RENV), parseRenvLock),
  lf('mix.lock', readFileSync(shared('fixtures/other/trivy-hex-mix/happy.mix.lock')), parseMixLock),
  lf('pubspec.lock', readFileSync(shared('fixtures/other/trivy-dart-pub/happy.lock')), parsePubspecLock),
];

describe('fuzzing the CRAN, Hex and Pub parsers: no hang, no memory blow-up', { timeout: 600_000 }, () => {
  for (const t of TARGETS) {
    it(t.name, async () => {
      for (const s of t.seeds) assert.equal(await judge(t, s), undefined);
      const inputs = mutation(t.seeds.length).map((m) => apply(t.seeds[m.seed], m.ops));
      await fc.assert(
        fc.asyncProperty(inputs, async (input) => {
          const verdict = await judge(t, input);
          if (verdict) throw new Error(verdict);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }
});
