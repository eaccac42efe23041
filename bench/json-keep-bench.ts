/**
 * `node dist/bench/json-keep-bench.js` (part of `npm run bench`): how long the large JSON
 * manifests take to read (catalog/json-keep.ts), in one process: a 3 MB package-lock.json
 * (8,000 packages) and a valid 63 MiB deps.json naming 728,000 libraries, each read as its
 * cataloger reads it, beside JSON.parse of the whole text (the speed the streamed read gave up
 * to bound memory). Median of five; the second file keeps more than MAX_KEPT and is refused, so
 * its figure is the time to find that out.
 */
import { DEPS_JSON_KEEP, depsJsonPins } from '../src/catalog/dotnet.js';
import { readJson } from '../src/catalog/json-keep.js';
import { PACKAGE_LOCK_KEEP, packageLockPins } from '../src/catalog/npm-lock.js';
import { depsJson } from '../test/helpers/big-image.js';

/** A lockfileVersion 3 package-lock.json of `n` packages, shaped as npm writes them. */
function packageLock(n: number): Buffer {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0' } };
  for (let i = 0; i < n; i++)
    packages[`node_modules/pkg-${i}`] = {
      version: `1.${i % 50}.${i % 7}`,
      resolved: `https://registry.example/pkg-${i}/-/pkg-${i}-1.${i % 50}.${i % 7}.tgz`,
      integrity: `sha512-${'A'.repeat(86)}==`,
      dependencies: { [`pkg-${(i + 1) % n}`]: '^1.0.0', [`pkg-${(i + 7) % n}`]: '~1.2.0' },
      ...(i % 5 === 0 ? { dev: true } : {}),
      license: 'MIT',
    };
  return Buffer.from(JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
}

async function median(fn: () => unknown): Promise<number> {
  const ms: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return ms.sort((a, b) => a - b)[2];
}

const deps = depsJson(63 * 1024 * 1024, 1);
for (const [what, b, keep, read] of [
  ['package-lock.json, 8,000 packages', packageLock(8_000), PACKAGE_LOCK_KEEP, packageLockPins],
  ['deps.json, 728,000 libraries', deps, DEPS_JSON_KEEP, depsJsonPins],
  // The reader's scanning speed alone: every byte validated, nothing built.
  ['deps.json, nothing kept', deps, { runtimeTarget: true }, (doc: never) => doc],
] as const) {
  // The 63 MiB file keeps more than MAX_KEPT: refused, and the time is how long that takes.
  let refused = false;
  const kept = await median(async () => {
    try {
      await readJson(b, keep, read as (doc: never) => unknown);
    } catch {
      refused = true;
    }
  });
  const whole = await median(() =>
    (read as (doc: never) => unknown)(JSON.parse(b.toString('utf8')) as never),
  );
  console.log(
    `${what} (${(b.length / 2 ** 20).toFixed(1)} MiB): read ${kept.toFixed(0)} ms${refused ? ' (refused: keeps more than MAX_KEPT)' : ''}, JSON.parse whole ${whole.toFixed(0)} ms`,
  );
}
