import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { schemeForEcosystem } from '../../src/versions/index.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// RHEL-family matching on real data: AlmaLinux's own OSV advisories (shared/), an AlmaLinux 9
// inventory given as a CycloneDX SBOM, and the expectation computed independently from the
// advisory files: every ALSA whose fixed version for that package is above the installed one.
const rpm = schemeForEcosystem('AlmaLinux')!;
const INSTALLED: Array<[string, string, string]> = [
  // name, epoch:version-release, source rpm
  ['openssl-libs', '1:3.0.1-38.el9_0', 'openssl-3.0.1-38.el9_0.src.rpm'],
  ['curl', '7.76.1-14.el9', 'curl-7.76.1-14.el9.src.rpm'],
  ['bash', '5.1.8-4.el9', 'bash-5.1.8-4.el9.src.rpm'],
  ['glibc', '2.34-28.el9_0', 'glibc-2.34-28.el9_0.src.rpm'],
];
let tmp: string;
let env: Record<string, string>;
let sbom: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-alma-'));
  env = { CUSTOMS_DB: join(tmp, 'db') };
  const r = customs(['db', 'import', shared('advisories/almalinux-osv'), '-q'], { env });
  assert.equal(r.status, 0, r.stderr);
  sbom = join(tmp, 'alma.cdx.json');
  const purl = ([name, v, src]: [string, string, string]) => {
    const [epoch, rest] = v.includes(':') ? v.split(':') : [undefined, v];
    return `pkg:rpm/almalinux/${name}@${rest}?arch=x86_64${epoch ? `&epoch=${epoch}` : ''}&distro=almalinux-9.1&upstream=${src}`;
  };
  writeFileSync(
    sbom,
    JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      version: 1,
      metadata: { component: { type: 'container', name: 'almalinux:9.1' } },
      components: [
        { type: 'operating-system', name: 'almalinux', version: '9.1' },
        ...INSTALLED.map((p) => ({ type: 'library', name: p[0], version: p[1], purl: purl(p) })),
      ],
    }),
  );
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** From the advisory files alone: ALSA ids per package fixed above the installed version. */
function expected(): Map<string, Set<string>> {
  const dir = shared('advisories/almalinux-osv/almalinux9');
  const want = new Map<string, Set<string>>(INSTALLED.map(([n]) => [n, new Set<string>()]));
  for (const f of readdirSync(dir)) {
    const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      id: string;
      affected: Array<{
        package: { ecosystem: string; name: string };
        ranges: Array<{ events: Array<{ fixed?: string }> }>;
      }>;
    };
    for (const a of doc.affected) {
      const mine = INSTALLED.find(([n]) => n === a.package.name);
      if (!mine || a.package.ecosystem !== 'AlmaLinux:9') continue;
      const fixed = a.ranges.flatMap((r) => r.events).find((e) => e.fixed)?.fixed;
      if (fixed && rpm.compare(mine[1], fixed) < 0) want.get(mine[0])!.add(doc.id);
    }
  }
  return want;
}

describe('AlmaLinux 9 against AlmaLinux advisories (RHEL family, by major release)', () => {
  it('reports the ALSAs fixed after each installed version, with the fixed versions', () => {
    const r = customs(['sbom-scan', sbom, '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const findings = JSON.parse(r.stdout).findings as Array<{
      id: string;
      aliases: string[];
      dataSources: string[];
      package: { name: string };
      fixedVersion?: string;
    }>;
    const got = new Map<string, Set<string>>(INSTALLED.map(([n]) => [n, new Set<string>()]));
    for (const f of findings) {
      for (const id of [f.id, ...f.aliases, ...f.dataSources.map((d) => d.replace(/^osv:/, ''))])
        if (id.startsWith('ALSA-')) got.get(f.package.name)?.add(id);
      assert.ok(f.fixedVersion, `${f.id} has a fixed version`);
    }
    const want = expected();
    assert.ok(want.get('openssl-libs')!.size > 5, 'the old openssl has advisories');
    assert.ok(want.get('glibc')!.size > 0 && want.get('curl')!.size > 0);
    for (const [name] of INSTALLED)
      assert.deepEqual([...got.get(name)!].sort(), [...want.get(name)!].sort(), name);
  });
});
