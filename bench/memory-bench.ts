/**
 * `node dist/bench/memory-bench.js` (part of `npm run bench`): issue 28's hostile image — six
 * 500 MB files at paths catalogers keep (three JSON files parsed whole, three jars; bytes that are
 * neither JSON nor zip), a 3 GB plain docker-archive written to the temporary folder and removed
 * after — scanned by `customs sbom` with the default budget: wall time and peak RSS (GNU time), cold
 * (filling the analysis cache) and again with the cache warm. BENCH_BIG_MB changes the file size.
 * Then a valid 63 MiB deps.json naming 728,000 libraries (JSON that parses into as many objects as
 * its size allows), the same two ways.
 */
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { depsJson, sixBigFiles, writeBigDockerArchive } from '../test/helpers/big-image.js';
import { fmt, measure, sbomCmd } from './measure.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SIZE = Number(process.env.BENCH_BIG_MB ?? 500) * 1_000_000;

const fs = statfsSync(tmpdir());
if (fs.bavail * fs.bsize < 6 * SIZE + 2 * 1024 ** 3) {
  console.log('memory bench: not enough free space under the temporary folder; skipped');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'customs-memory-bench-'));
  try {
    const image = join(dir, 'six.tar');
    const t0 = Date.now();
    const bytes = writeBigDockerArchive(image, sixBigFiles(SIZE));
    console.log(
      `six files of ${SIZE / 1e6} MB: ${(bytes / 1e9).toFixed(2)} GB archive written in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const env = {
      CUSTOMS_ANALYSIS_CACHE: 'on',
      CUSTOMS_ANALYSIS_CACHE_DIR: join(dir, 'analysis'),
      TMPDIR: dir,
    };
    const cmd = [...sbomCmd(CLI, `docker-archive:${image}`), '-q'];
    const cold = measure(cmd, env);
    const warm = measure(cmd, env);
    console.log(`| six 500 MB files, cold (fills the analysis cache) | ${fmt(cold)} |`);
    console.log(`| same, analysis cache warm                        | ${fmt(warm)} |`);
    if (!cold.ok || !warm.ok) process.exitCode = 1;
    rmSync(image, { force: true });

    const deps = depsJson(63 * 1024 * 1024, 1);
    const depsImage = join(dir, 'deps.tar');
    writeBigDockerArchive(depsImage, [[{ path: 'app/App.deps.json', size: deps.length, content: deps }]]);
    const depsCmd = [...sbomCmd(CLI, `docker-archive:${depsImage}`), '-q'];
    const depsCold = measure(depsCmd, env);
    const depsWarm = measure(depsCmd, env);
    console.log(`| 63 MiB deps.json (728,000 libraries), cold        | ${fmt(depsCold)} |`);
    console.log(`| same, analysis cache warm                        | ${fmt(depsWarm)} |`);
    if (!depsCold.ok || !depsWarm.ok) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
