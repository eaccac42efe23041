import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRpmdb } from '../../src/catalog/rpm/index.js';
import { parseHeader, TAG } from '../../src/catalog/rpm/header.js';
import { ndbBlobs } from '../../src/catalog/rpm/ndb.js';
import { apply, mutation } from './mutate.js';
import { buildBdb, buildNdb } from './rpm-structures.js';
import { shared } from '../helpers/paths.js';
import { cleanup, judge, targets } from './targets.js';

// The short fuzz run of every `npm test`: mutations of real inputs with a fixed seed, so a failure
// reproduces. `npm run fuzz` runs the same targets far longer with a random seed (docs/fuzzing.md).
const RUNS = Number(process.env.CUSTOMS_FUZZ_RUNS ?? 1000);
const SEED =
  process.env.CUSTOMS_FUZZ_SEED === 'random'
    ? Date.now() % 2 ** 31
    : Number(process.env.CUSTOMS_FUZZ_SEED ?? 20261130);
const FAILURES = join(process.cwd(), '.cache/test/fuzz-failures');
if (process.env.CUSTOMS_FUZZ_SEED) process.stdout.write(`# fuzz seed ${SEED}, ${RUNS} inputs per target\n`);

describe(
  'fuzzing: mutated real inputs never crash, hang or blow up memory',
  // A long run (npm run fuzz) gets about 60 ms an input and target.
  { timeout: Math.max(600_000, RUNS * 60 * 20) },
  async () => {
    after(cleanup);
    it('the rpm structure writers make databases the readers read whole', () => {
      const blobs = ndbBlobs(readFileSync(shared('fixtures', 'rpm/sle15-bci-ndb/Packages.db'))).slice(0, 5);
      const names = blobs.map((b) => parseHeader(b).string(TAG.NAME));
      assert.deepEqual(
        parseRpmdb(buildNdb(blobs)).map((r) => r.name),
        names,
      );
      for (const size of [512, 4096])
        assert.deepEqual(
          parseRpmdb(buildBdb(blobs, size)).map((r) => r.name),
          names,
        );
    });
    for (const t of await targets()) {
      it(t.name, async () => {
        assert.ok(t.seeds.length > 0, 'no seed input');
        // The seeds themselves must be fine.
        for (const s of t.seeds) assert.equal(await judge(t, s), undefined);
        const inputs = t.arbitrary ?? mutation(t.seeds.length).map((m) => apply(t.seeds[m.seed], m.ops));
        const run = await fc.check(
          fc.asyncProperty(inputs, async (input) => {
            const verdict = await judge(t, input);
            if (verdict) throw new Error(verdict);
          }),
          { numRuns: RUNS, seed: SEED },
        );
        if (run.failed) {
          // The shrunk input goes to a file (it can be megabytes); the message says what broke.
          const [input] = run.counterexample ?? [];
          const file = join(FAILURES, `${t.name.replace(/\W+/g, '-')}.bin`);
          if (input) {
            mkdirSync(FAILURES, { recursive: true });
            writeFileSync(file, input);
          }
          assert.fail(
            `${(run.errorInstance as Error | undefined)?.message ?? 'failed'} after ${run.numRuns} inputs ` +
              `(seed ${run.seed}, path "${run.counterexamplePath}"; input in ${file})`,
          );
        }
      });
    }
  },
);
