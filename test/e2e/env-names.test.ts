import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// --env takes the environments the policy defines, not only production/staging/dev; exceptions
// for such an environment apply when scanning for it.
describe('environments a policy defines', () => {
  let tmp: string;
  let db: string;
  const project = shared('fixtures/pypi/syft-python/pipfile-lock');
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-envs-'));
    db = join(tmp, 'vuln.db');
    assert.equal(customs(['db', 'import', shared('advisories/pypi-osv'), '--db', db, '-q']).status, 0);
    writeFileSync(
      join(tmp, 'customs-policy.yaml'),
      YAML.stringify({
        environments: {
          production: { rules: [{ id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' }] },
          qa: { rules: [{ id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' }] },
        },
      }),
    );
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('scans for an environment of the policy, with its exceptions', () => {
    const scan = (env: string) =>
      customs(['fs', project, '--db', db, '-q', '-f', 'json', '--env', env], { cwd: tmp });
    const all = JSON.parse(scan('qa').stdout);
    assert.ok(all.findings.length > 0);
    assert.equal(all.context.env, 'production', 'ranked as production, the strictest');
    const first = all.findings[0];
    writeFileSync(
      join(tmp, '.customsignore.yaml'),
      YAML.stringify({
        ignores: [{ id: first.id, reason: 'accepted for the QA stage', environments: ['qa'] }],
      }),
    );
    const qa = JSON.parse(scan('qa').stdout);
    assert.equal(qa.suppressed.filter((f: { id: string }) => f.id === first.id).length > 0, true);
    const prod = JSON.parse(scan('production').stdout);
    assert.equal(
      prod.suppressed.filter((f: { id: string }) => f.id === first.id).length,
      0,
      'not in production',
    );
    rmSync(join(tmp, '.customsignore.yaml'));
  });

  it('refuses an environment nobody defined, naming the ones there are', () => {
    const r = customs(['fs', project, '--db', db, '-q', '--env', 'moon'], { cwd: tmp });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /--env must be production, staging, dev or an environment of the policy \(customs-policy\.yaml: production, qa\)/,
    );
  });
});
