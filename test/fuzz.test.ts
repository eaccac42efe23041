import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { apply, mutation } from './fuzz/mutate.js';
import { cleanup, judge, targets } from './fuzz/targets.js';

// The short fuzz run of every `npm test`: mutations of real inputs with a fixed seed, so a failure
// reproduces. `npm run fuzz` runs the same targets far longer with a random seed (docs/fuzzing.md).
const RUNS = Number(process.env.CUSTOMS_FUZZ_RUNS ?? 1000);
const SEED =
  process.env.CUSTOMS_FUZZ_SEED === 'random'
    ? Date.now() % 2 ** 31
    : Number(process.env.CUSTOMS_FUZZ_SEED ?? 20261130);
if (process.env.CUSTOMS_FUZZ_SEED) process.stdout.write(`# fuzz seed ${SEED}, ${RUNS} inputs per target\n`);

describe(
  'fuzzing: mutated real inputs never crash, hang or blow up memory',
  { timeout: 600_000 },
  async () => {
    after(cleanup);
    for (const t of await targets()) {
      it(t.name, async () => {
        assert.ok(t.seeds.length > 0, 'no seed input');
        // The seeds themselves must be fine.
        for (const s of t.seeds) assert.equal(await judge(t, s), undefined);
        await fc.assert(
          fc.asyncProperty(mutation(t.seeds.length), async (m) => {
            const verdict = await judge(t, apply(t.seeds[m.seed], m.ops));
            if (verdict) throw new Error(verdict);
          }),
          { numRuns: RUNS, seed: SEED },
        );
      });
    }
  },
);
