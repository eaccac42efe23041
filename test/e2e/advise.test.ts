import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs, customsAsync, has } from '../helpers/run.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { candidateTags } from '../../src/advise/advise.js';
import { evaluatePolicy, type Policy } from '../../src/policy/policy.js';
import type { ScanResult } from '../../src/model/scan.js';

// An application image on an Alpine 3.7.3 base (the shared minirootfs as its first layer) with an
// old lodash in a second layer; candidate bases are other shared Alpine minirootfs images.
let tmp: string;
let env: Record<string, string>;
let app: string;
let candidates: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-advise-'));
  const adv = join(tmp, 'osv');
  mkdirSync(adv);
  // Public fact: GHSA-p6mc-m468-83gw, lodash < 4.17.19.
  writeFileSync(
    join(adv, 'GHSA-p6mc-m468-83gw.json'),
    JSON.stringify({
      schema_version: '1.4.0',
      id: 'GHSA-p6mc-m468-83gw',
      aliases: ['CVE-2020-8203'],
      modified: '2023-01-01T00:00:00Z',
      database_specific: { severity: 'HIGH' },
      affected: [
        {
          package: { ecosystem: 'npm', name: 'lodash' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.19' }] }],
        },
      ],
    }),
  );
  env = { CUSTOMS_DB: join(tmp, 'db') };
  assert.equal(customs(['db', 'import', shared('advisories/alpine-secdb'), adv, '-q'], { env }).status, 0);
  const rootfs = (v: string) =>
    gunzipSync(readFileSync(shared(`images/alpine/alpine-minirootfs-${v}-x86_64.tar.gz`)));
  const appLayer = await makeTar([
    {
      name: 'srv/node_modules/lodash/package.json',
      content: JSON.stringify({ name: 'lodash', version: '4.17.15', license: 'MIT' }),
    },
  ]);
  app = join(tmp, 'app.tar');
  writeFileSync(app, await dockerArchive({ layers: [rootfs('3.7.3'), appLayer], tag: 'shop/app:1' }));
  const lines: string[] = [];
  for (const v of ['3.7.3', '3.8.5', '3.20.3']) {
    const f = join(tmp, `alpine-${v}.tar`);
    writeFileSync(f, await dockerArchive({ layers: [rootfs(v)], tag: `alpine:${v}` }));
    lines.push(f);
  }
  candidates = join(tmp, 'candidates.txt');
  writeFileSync(candidates, `# base images we allow\n${lines.join('\n')}\n`);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('customs advise', () => {
  it('upgrades with the risk they remove, which come with the base, and the base to move to', () => {
    const r = customs(['advise', app, '--base-candidates', candidates, '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout);
    // The candidate alpine:3.7.3 shares the first layer: that is the base.
    assert.equal(a.baseLayers, 1);
    const lodash = a.upgrades.find((u: { package: string }) => u.package === 'lodash');
    assert.deepEqual(
      [lodash.from, lodash.to, lodash.inBase, lodash.fixes],
      ['4.17.15', '4.17.19', false, ['CVE-2020-8203']],
    );
    const musl = a.upgrades.find((u: { package: string }) => u.package === 'musl');
    assert.deepEqual([musl.to, musl.inBase], ['1.1.18-r4', true]);
    // Ranked by risk removed, highest first.
    const risks = a.upgrades.map((u: { riskRemoved: number }) => u.riskRemoved);
    assert.deepEqual(
      risks,
      [...risks].sort((x: number, y: number) => y - x),
    );
    // The newest Alpine removes the base's findings; the same base removes nothing.
    assert.equal(a.base.recommended.image, 'alpine:3.20.3');
    assert.equal(a.base.recommended.removes, 2);
    assert.equal(a.base.candidates.find((c: { image: string }) => c.image === 'alpine:3.7.3').removes, 0);
  });

  it('a plan to pass a policy: base move for base-image findings, upgrades for the rest', () => {
    const policy = join(tmp, 'strict.yaml');
    writeFileSync(
      policy,
      `environments:
  production:
    rules:
      - id: no-fixable
        check: vulnerabilities
        severity: HIGH
        with: { severities: [CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN] }
      - id: non-root
        check: non-root
        severity: MEDIUM
`,
    );
    const r = customs(['advise', app, '--base-candidates', candidates, '--policy', policy], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /To pass the production policy:/);
    assert.match(
      r.stdout,
      /no-fixable: move the base image to alpine:3\.20\.3 \(alpine 3\.20\.3; removes 2 base-image vulnerabilities\)/,
    );
    assert.match(r.stdout, /no-fixable: upgrade lodash 4\.17\.15 → 4\.17\.19 \(fixes CVE-2020-8203\)/);
    assert.match(r.stdout, /non-root: add USER/);
    assert.doesNotMatch(r.stdout, /upgrade musl /);
  });

  it('without candidates: upgrades and the plan, no base section', () => {
    const a = JSON.parse(customs(['advise', app, '--format', 'json'], { env }).stdout);
    assert.equal(a.base, undefined);
    assert.ok(a.upgrades.length >= 2);
    assert.ok(a.plan.steps.some((s: string) => /supported-base-image/.test(s)));
  });
});

describe(
  'base candidates from the registry the image names as its base',
  { skip: (!has('docker-registry') || !has('skopeo')) && 'docker-registry and skopeo are needed' },
  () => {
    let reg: Registry;
    let labelled: string;
    before(async () => {
      reg = new Registry(join(tmp, 'registry'), await freePort());
      await reg.start();
      for (const [v, tag] of [
        ['3.7.3', '3.7'],
        ['3.8.5', '3.8'],
        ['3.20.3', '3.20'],
        ['3.20.3', 'latest'],
      ])
        skopeoCopy(
          `docker-archive:${join(tmp, `alpine-${v}.tar`)}`,
          `docker://${reg.host}/base/alpine:${tag}`,
        );
      const rootfs = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')));
      const appLayer = await makeTar([{ name: 'srv/app.txt', content: 'app' }]);
      labelled = join(tmp, 'labelled.tar');
      writeFileSync(
        labelled,
        await dockerArchive({
          layers: [rootfs, appLayer],
          tag: 'shop/app:2',
          labels: { 'org.opencontainers.image.base.name': `${reg.host}/base/alpine:3.7` },
        }),
      );
    });
    after(() => reg.stop());

    it('lists the version tags at or above the current one and recommends the newest that helps', async () => {
      const r = await customsAsync(['advise', labelled, '--insecure', '--format', 'json', '--no-cache'], {
        env,
      });
      assert.equal(r.status, 0, r.stderr);
      const a = JSON.parse(r.stdout);
      assert.deepEqual(a.base.candidates.map((c: { image: string }) => c.image).sort(), [
        `${reg.host}/base/alpine:3.20`,
        `${reg.host}/base/alpine:3.7`,
        `${reg.host}/base/alpine:3.8`,
      ]);
      assert.equal(a.baseLayers, 1);
      assert.equal(a.base.recommended.image, `${reg.host}/base/alpine:3.20`);
    });
  },
);

describe('advice helpers', () => {
  it('candidate tags: same granularity, at or above the current, newest first', () => {
    assert.deepEqual(
      candidateTags('3.18', [
        '3.17',
        '3.18',
        '3.18.4',
        '3.19',
        '3.20',
        'latest',
        'edge',
        '3.21',
        '3.22',
        '3.23',
        '3.24',
      ]),
      ['3.24', '3.23', '3.22', '3.21', '3.20'],
    );
    assert.deepEqual(candidateTags('12.5', ['12.4', '12.5', '12.10', '13.1', 'bookworm']), [
      '13.1',
      '12.10',
      '12.5',
    ]);
  });

  it('releases behind: counted from the lifecycle table', async () => {
    const { releasesBehind } = await import('../../src/distro/eol.js');
    assert.equal(releasesBehind('debian', '12.5'), 1);
    assert.equal(releasesBehind('alpine', '3.22.1'), 1);
    assert.equal(releasesBehind('nosuchos', '1'), undefined);
    const r = {
      findings: [],
      packages: [],
      os: { id: 'alpine', version: '3.7.3' },
      image: { kind: 'oci-layout' },
    } as unknown as ScanResult;
    const policy: Policy = {
      environments: {
        prod: {
          rules: [{ id: 'current', check: 'base-image-current', severity: 'LOW', with: { behind: 4 } }],
        },
      },
    };
    const [res] = evaluatePolicy(policy, 'prod', r);
    assert.equal(res.status, 'fail');
    assert.match(res.offending[0], /alpine 3\.7\.3 is \d+ releases behind the newest/);
  });

  it('fix-age: a fix published longer ago than the threshold breaks the rule', () => {
    const finding = (id: string, published: string) => ({
      id,
      status: 'fixed',
      published,
      fixedVersion: '2',
      package: { name: 'p', version: '1' },
    });
    const r = {
      findings: [finding('CVE-1', '2026-01-01T00:00:00Z'), finding('CVE-2', '2026-11-20T00:00:00Z')],
      packages: [],
      image: { kind: 'oci-layout' },
    } as unknown as ScanResult;
    const policy: Policy = {
      environments: {
        prod: { rules: [{ id: 'fresh', check: 'fix-age', severity: 'HIGH', with: { days: 30 } }] },
      },
    };
    const [res] = evaluatePolicy(policy, 'prod', r, new Date('2026-11-24T00:00:00Z'));
    assert.equal(res.status, 'fail');
    assert.deepEqual(
      res.offending.map((o) => o.split(' ')[0]),
      ['CVE-1'],
    );
  });
});
