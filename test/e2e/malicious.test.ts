/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers, checked field by field */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

// Malware is not a vulnerability with a fix: the OpenSSF malicious-package reports (MAL-*, a real
// subset in ../shared) become findings of their own kind. The image installs a PyPI package and
// an npm package that those reports name, beside Flask 0.12 with ordinary advisories (pypi-osv).
let tmp: string;
let env: Record<string, string>;
let image: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-mal-'));
  env = { CUSTOMS_DB: join(tmp, 'db') };
  const r = customs(
    ['db', 'import', shared('advisories/malicious-osv'), shared('advisories/pypi-osv'), '-q'],
    { env },
  );
  assert.equal(r.status, 0, r.stderr);
  const site = 'usr/lib/python3.11/site-packages';
  const layer = await makeTar([
    { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n' },
    {
      name: `${site}/multiconnections-2.35.1.dist-info/METADATA`,
      content: 'Metadata-Version: 2.1\nName: multiconnections\nVersion: 2.35.1\n',
    },
    {
      name: `${site}/Flask-0.12.dist-info/METADATA`,
      content: 'Metadata-Version: 2.1\nName: Flask\nVersion: 0.12\n',
    },
    {
      name: 'usr/lib/node_modules/server_qa_automation/package.json',
      content: JSON.stringify({ name: 'server_qa_automation', version: '1.0.3' }),
    },
  ]);
  image = join(tmp, 'app.tar');
  writeFileSync(image, await dockerArchive({ layers: [layer], tag: 'app:1' }));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const scan = (format: string, extra: string[] = []) => {
  const r = customs(['image', image, '--format', format, ...extra], { env });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

describe('malicious packages: a finding kind of their own', () => {
  it('always critical, no fixed version, first in the report, grade F', () => {
    const r = JSON.parse(scan('json'));
    const kinds = r.findings.map((f: { kind?: string }) => f.kind ?? 'vulnerability');
    assert.deepEqual(kinds.slice(0, 2), ['malicious', 'malicious']);
    assert.ok(kinds.slice(2).length > 0 && kinds.slice(2).every((k: string) => k === 'vulnerability'));
    const byName = new Map(
      r.findings.slice(0, 2).map((f: { package: { name: string } }) => [f.package.name, f]),
    );
    const py = byName.get('multiconnections') as Record<string, any>;
    assert.equal(py.id, 'MAL-2024-1334');
    assert.equal(py.severity.level, 'CRITICAL');
    assert.equal(py.fixedVersion, undefined);
    assert.equal(py.risk.score, 100);
    const npm = byName.get('server_qa_automation') as Record<string, any>;
    assert.equal(npm.id, 'MAL-2022-6019');
    assert.deepEqual(npm.aliases, ['GHSA-gc6f-8rh2-4grr']);
    assert.equal(r.summary.malicious, 2);
    assert.equal(r.summary.grade, 'F');
    assert.match(r.summary.gradeReason, /2 malicious packages/);
  });

  it('said as such in the table, SARIF and CycloneDX (both valid)', () => {
    const table = scan('table');
    const rows = table.split('\n').filter((l) => /^\d+\s/.test(l));
    assert.match(rows[0], /MAL-\d{4}-\d+\s+CRITICAL.*MALICIOUS PACKAGE: remove it/);
    assert.match(table, /2 MALICIOUS PACKAGES · /);
    const sarif = JSON.parse(scan('sarif'));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    const first = sarif.runs[0].results[0];
    assert.match(first.ruleId, /^MAL-/);
    assert.match(first.message.text, /is a malicious package \(MAL-[\d-]+\) in image app:1: remove it/);
    const bom = JSON.parse(scan('cyclonedx'));
    assert.deepEqual(schemaErrors('cyclonedx-1.6', bom), []);
    assert.ok(bom.vulnerabilities.some((v: { id: string }) => v.id === 'MAL-2024-1334'));
  });

  it('fails no-malicious-packages in every environment, also of a policy that does not name it', () => {
    for (const e of ['production', 'staging', 'dev']) {
      const r = customs(['policy', 'check', image, '--env', e], { env });
      assert.equal(r.status, 1, `${e}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /no-malicious-packages/);
      assert.match(r.stdout, /multiconnections 2\.35\.1 is malware \(MAL-2024-1334\)/);
    }
    const policy = join(tmp, 'qa-policy.yaml');
    writeFileSync(
      policy,
      'environments:\n  qa:\n    rules:\n      - { id: no-secrets, check: no-secrets, severity: CRITICAL }\n',
    );
    const r = customs(['policy', 'check', image, '--env', 'qa', '--policy', policy], { env });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /no-malicious-packages/);
  });
});
