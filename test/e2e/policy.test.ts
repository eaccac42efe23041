import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

// The same image, Alpine 3.7.3 (end of life, with the musl CVE from the secdb), against the
// built-in policy: it may not go to production, and may go to dev.
let tmp: string;
let env: Record<string, string>;
let image: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-policy-'));
  env = { CUSTOMS_DB: join(tmp, 'db') };
  assert.equal(
    customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '-q'], { env }).status,
    0,
  );
  image = join(tmp, 'app.tar');
  const layer = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')));
  writeFileSync(image, await dockerArchive({ layers: [layer], tag: 'app:1' }));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const check = (...args: string[]) =>
  customs(['policy', 'check', image, '--format', 'json', ...args], { env, cwd: tmp });

describe('customs policy check', () => {
  it('fails in production and passes in dev for the same image', () => {
    const prod = check('--env', 'production');
    assert.equal(prod.status, 1, prod.stderr);
    const p = JSON.parse(prod.stdout);
    assert.equal(p.passed, false);
    const rule = (id: string) => p.rules.find((r: { id: string }) => r.id === id);
    assert.equal(rule('supported-base-image').status, 'fail');
    assert.match(
      rule('supported-base-image').offending[0],
      /alpine 3\.7\.3 reached end of life on 2019-11-01/,
    );
    assert.equal(rule('non-root').status, 'fail');
    assert.equal(rule('no-secrets').status, 'pass');
    const dev = check('--env', 'dev');
    assert.equal(dev.status, 0, dev.stderr);
    assert.equal(JSON.parse(dev.stdout).passed, true);
  });

  it('a policy file with thresholds; exceptions from the ignore file apply', () => {
    const policy = join(tmp, 'qa-policy.yaml');
    writeFileSync(
      policy,
      `environments:
  qa:
    rules:
      - id: no-musl-cve
        check: vulnerabilities
        severity: HIGH
        with: { severities: [CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN], fixable: true }
`,
    );
    const fail = check('--env', 'qa', '--policy', policy);
    assert.equal(fail.status, 1);
    assert.match(
      JSON.parse(fail.stdout).rules[0].offending.join('\n'),
      /CVE-2019-14697 \(unknown\) in musl 1\.1\.18-r3, fixed in 1\.1\.18-r4/,
    );
    const ignore = join(tmp, 'ignore.yaml');
    writeFileSync(ignore, 'ignores:\n  - id: CVE-2019-14697\n    reason: not reachable in this service\n');
    const pass = check('--env', 'qa', '--policy', policy, '--ignorefile', ignore);
    assert.equal(pass.status, 0, pass.stdout + pass.stderr);
  });

  it('SARIF and Markdown outputs; table says PASSED/FAILED', () => {
    const out = join(tmp, 'policy.sarif');
    assert.equal(
      customs(['policy', 'check', image, '--format', 'sarif', '--output', out], { env, cwd: tmp }).status,
      1,
    );
    const sarif = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    assert.ok(
      sarif.runs[0].results.some((r: { ruleId: string }) => r.ruleId === 'policy/supported-base-image'),
    );
    const md = customs(['policy', 'check', image, '--format', 'markdown', '--env', 'dev'], { env, cwd: tmp });
    assert.match(md.stdout, /^### Policy `dev` for `app:1`: passed/);
    const table = customs(['policy', 'check', image, '--env', 'production'], { env, cwd: tmp });
    assert.match(table.stdout, /FAIL {2}supported-base-image/);
    assert.match(table.stdout, /FAILED: \d+ of 9 rules; the image may not go to production/);
  });

  it('bad policies are clear errors naming the file and place', () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'environments:\n  prod:\n    rules:\n      - id: x\n        check: no-such-check\n');
    const r = check('--policy', bad, '--env', 'prod');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.yaml: environments\.prod\.rules\[0\]: unknown check "no-such-check"/);
    writeFileSync(bad, 'environments: [\n');
    assert.match(check('--policy', bad).stderr, /bad\.yaml: not valid YAML \(line \d+\)/);
    assert.match(
      check('--env', 'nowhere').stderr,
      /has no environment "nowhere"; it has production, staging, dev/,
    );
  });

  it('policy show prints the built-in policy', () => {
    const r = customs(['policy', 'show'], { cwd: tmp });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /production:[\s\S]*check: known-exploited/);
  });
});
