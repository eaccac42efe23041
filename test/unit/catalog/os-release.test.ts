import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectOs, osFromOsRelease } from '../../../src/catalog/os-release.js';
import { endOfLife } from '../../../src/distro/eol.js';
import { fsFromFiles } from '../../helpers/fs.js';
import { shared } from '../../helpers/paths.js';

// Trivy's family names for the distros, as our os-release IDs.
const FAMILY: Record<string, string> = {
  'types.ActiveState': 'activestate',
  'types.Alma': 'almalinux',
  'types.Alpine': 'alpine',
  'types.Azure': 'azurelinux',
  'types.Bottlerocket': 'bottlerocket',
  'types.CentOSStream': 'centos-stream',
  'types.CentOS': 'centos',
  'types.CoreOS': 'coreos',
  'types.Echo': 'echo',
  'types.Fedora': 'fedora',
  'types.CBLMariner': 'mariner',
  'types.MinimOS': 'minimos',
  'types.OpenSUSELeap': 'opensuse-leap',
  'types.OpenSUSETumbleweed': 'opensuse-tumbleweed',
  'types.Oracle': 'ol',
  'types.Photon': 'photon',
  'types.RedHat': 'rhel',
  'types.Rocky': 'rocky',
  'types.SLEMicro': 'sle-micro',
  'types.SLES': 'sles',
};

describe("os-release detection against a peer's real os-release files", () => {
  const dir = shared('fixtures/os-release/trivy-os-release');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.expected.json'))) {
    const input = f.replace(/\.expected\.json$/, '');
    const exp = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const c of exp.cases) {
      it(`${input}: ${c.name}`, () => {
        const got = osFromOsRelease(readFileSync(join(dir, input), 'utf8'));
        const want = c.want?.OS;
        if (!want) {
          // The peer recognises no OS here: no ID/VERSION_ID at all, or an ID it does not support.
          if (input === 'unknown') assert.equal(got?.id, 'unknown');
          else assert.equal(got, undefined);
          return;
        }
        assert.ok(got, 'an OS is detected');
        assert.equal(got.id, FAMILY[want.Family] ?? want.Family);
        assert.equal(got.version, want.Name);
      });
    }
  }
});

describe('distro release files', () => {
  const rh = shared('fixtures/os-release/trivy-redhat-release');
  const cases: Array<[string, string, string, string]> = [
    ['centos/centos-release', 'etc/centos-release', 'centos', '7.6.1810'],
    ['alma/almalinux-release', 'etc/almalinux-release', 'almalinux', '8.4'],
    ['rocky/rocky-release', 'etc/rocky-release', 'rocky', '8.4'],
    ['oracle_7/oracle-release', 'etc/oracle-release', 'ol', '7.6'],
    ['fedora_29/fedora-release', 'etc/fedora-release', 'fedora', '29'],
  ];
  for (const [file, at, id, version] of cases) {
    it(`${file} → ${id} ${version}`, async () => {
      const os = await detectOs(fsFromFiles({ [at]: readFileSync(join(rh, file)) }));
      assert.equal(os?.id, id);
      assert.equal(os?.version, version);
    });
  }
  it('an empty redhat-release gives no OS', async () => {
    assert.equal(await detectOs(fsFromFiles({ 'etc/redhat-release': '' })), undefined);
  });
  it('debian_version refines os-release (12 → 12.4)', async () => {
    const os = await detectOs(
      fsFromFiles({
        'etc/os-release': 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
        'etc/debian_version': '12.4\n',
      }),
    );
    assert.deepEqual([os?.id, os?.version, os?.codename], ['debian', '12.4', 'bookworm']);
  });
  it('debian_version of sid (not a number) keeps os-release', async () => {
    const os = await detectOs(
      fsFromFiles({ 'etc/os-release': 'ID=debian\nVERSION_ID="13"\n', 'etc/debian_version': 'trixie/sid\n' }),
    );
    assert.equal(os?.version, '13');
  });
  it('lsb-release alone (Ubuntu 18.04)', async () => {
    const os = await detectOs(
      fsFromFiles({
        'etc/lsb-release': readFileSync(shared('fixtures/os-release/trivy-ubuntu/lsb-release')),
      }),
    );
    assert.deepEqual([os?.id, os?.version], ['ubuntu', '18.04']);
  });
  it('usr/lib/os-release when etc has none', async () => {
    const os = await detectOs(fsFromFiles({ 'usr/lib/os-release': 'ID=wolfi\nVERSION_ID=20230201\n' }));
    assert.equal(os?.id, 'wolfi');
  });
});

describe('end of life', () => {
  it('Alpine 3.10 is end-of-life, Debian 12 is not (on 2026-11-24)', () => {
    const now = new Date('2026-11-24');
    assert.deepEqual(endOfLife('alpine', '3.10.9', now), { date: '2021-05-01', endOfLife: true });
    assert.deepEqual(endOfLife('debian', '12.4', now), { date: '2028-06-30', endOfLife: false });
    assert.equal(endOfLife('ubuntu', '18.04', now)?.endOfLife, true);
    assert.equal(endOfLife('nosuchdistro', '1', now), undefined);
  });
});
