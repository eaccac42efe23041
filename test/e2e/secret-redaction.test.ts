import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redactions } from '../../src/secrets/redact.js';
import { alpineMuslLayer, dockerArchive, ociLayout } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { freePort } from '../helpers/registry.js';
import { customs, customsAsync } from '../helpers/run.js';
import { SCAN_FORMAT_NAMES } from '../../src/report/scan-format-names.js';
import { schemaErrors } from '../helpers/schemas.js';

// The issue's fake key pair (AWS's documented example id): matches the rules, belongs to no account.
const AKID = 'AKIAIOSFODNN7EXAMPLE';
const KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9vHk3LmZ';
// Found only by its variable's name (DEPLOY_PASSWORD), then quoted in an annotation.
const PASSWORD = 'Zq8mW2pL5vR9xTb4';

/** No eight characters in a row of a secret: a mask keeps four, a truncated column must keep fewer. */
function leaks(text: string, secret: string): string | undefined {
  for (let i = 0; i + 8 <= secret.length; i++)
    if (text.includes(secret.slice(i, i + 8))) return secret.slice(i, i + 8);
  return undefined;
}

// Every format `customs image` has: a new one is checked for leaks without a line here.
const FORMATS: string[] = [...SCAN_FORMAT_NAMES];

describe('a secret found anywhere is masked everywhere', { timeout: 120_000 }, () => {
  let tmp: string;
  let env: Record<string, string>;
  let oci: string;
  let archive: string;
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-redact-'));
    env = { CUSTOMS_DB: join(tmp, 'db.sqlite'), NO_COLOR: '1' };
    assert.equal(customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env }).status, 0);
    const credentials = `[default]\naws_access_key_id = ${AKID}\naws_secret_access_key = ${KEY}\n`;
    // musl (with a known finding) comes in the step that wrote the key, so the table's build-step
    // column, the HTML's layer label and the SBOMs' layer property all quote that step.
    const layer = await alpineMuslLayer(undefined, [
      { name: 'root/.aws/credentials', content: credentials },
      // The key id as a folder name: a path the report prints.
      { name: `root/keys-${AKID}/credentials`, content: credentials },
    ]);
    const spec = {
      layers: [layer],
      createdBy: [`/bin/sh -c echo ${KEY} ${AKID} > /root/.aws/credentials && apk add musl`],
      env: ['PATH=/bin', `DEPLOY_PASSWORD=${PASSWORD}`, `S3_SYNC=s3://backups?secret=${KEY}`],
      labels: { 'org.example.rotation': `rotate ${KEY} monthly`, maintainer: 'ops' },
      annotations: { 'org.opencontainers.image.description': `deploys with ${PASSWORD} and ${KEY}` },
      tag: 'leaky:1',
    };
    oci = join(tmp, 'oci');
    ociLayout(oci, spec);
    archive = join(tmp, 'leaky.tar');
    writeFileSync(archive, await dockerArchive(spec));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('in every output format, standard error included, still reporting the secrets (masked)', () => {
    for (const format of FORMATS) {
      const r = customs(['image', `oci:${oci}`, '--format', format, '--scanners', 'vuln,secret,config'], {
        env,
      });
      assert.equal(r.status, 0, `${format}: ${r.stderr}`);
      const out = r.stdout + r.stderr;
      for (const s of [KEY, AKID, PASSWORD])
        assert.equal(leaks(out, s), undefined, `${format} prints part of ${s}`);
      if (format === 'json') {
        const json = JSON.parse(r.stdout);
        const where = json.secrets.map((s: { path: string }) => s.path);
        assert.ok(where.includes('/root/.aws/credentials'), where.join(', '));
        assert.ok(where.includes(`/root/keys-AKIA****************/credentials`), where.join(', '));
        assert.ok(where.includes('image config (Env)'), where.join(', '));
        // The masked forms stand where the values stood; the harmless label is untouched.
        assert.match(json.image.history[0].createdBy, /echo wJal\*+ AKIA\*+ > \/root\/\.aws\/credentials/);
        assert.equal(json.image.labels['org.example.rotation'], `rotate wJal${'*'.repeat(24)} monthly`);
        assert.equal(json.image.labels.maintainer, 'ops');
        assert.match(
          json.image.annotations['org.opencontainers.image.description'],
          /deploys with Zq8m\*+ and/,
        );
        assert.ok(json.findings.length > 0, 'musl still matched: masking happens after matching');
      }
      if (format === 'table') assert.match(r.stdout, /echo wJal\*+/, 'the build-step column, masked');
      if (format === 'cyclonedx') assert.deepEqual(schemaErrors('cyclonedx-1.6', JSON.parse(r.stdout)), []);
      if (format === 'spdx') assert.deepEqual(schemaErrors('spdx-2.3', JSON.parse(r.stdout)), []);
      if (format === 'sarif') assert.deepEqual(schemaErrors('sarif-2.1.0', JSON.parse(r.stdout)), []);
    }
  });

  it('in several reports of one scan and in the inventory (customs sbom) of a docker archive', () => {
    const files = FORMATS.filter((f) => f !== 'table').map((f) => `${f}=${join(tmp, `all.${f}`)}`);
    const r = customs(['image', archive, ...files.flatMap((f) => ['--output', f])], { env });
    assert.equal(r.status, 0, r.stderr);
    for (const f of FORMATS.filter((x) => x !== 'table')) {
      const text = readFileSync(join(tmp, `all.${f}`), 'utf8');
      for (const s of [KEY, AKID, PASSWORD]) assert.equal(leaks(text, s), undefined, `${f} file`);
    }
    for (const format of ['table', 'json', 'cyclonedx', 'spdx']) {
      const sbom = customs(['sbom', archive, '--format', format], { env });
      assert.equal(sbom.status, 0, sbom.stderr);
      for (const s of [KEY, AKID, PASSWORD])
        assert.equal(leaks(sbom.stdout + sbom.stderr, s), undefined, `sbom ${format}`);
    }
  });

  it('in what --report-to uploads', async () => {
    const port = await freePort();
    let body = '';
    const server = createServer((req, res) => {
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: '/api/v1/images/x' }));
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const r = await customsAsync(
        ['image', archive, '-q', '--report-to', `http://127.0.0.1:${port}`, '--token', 't'],
        { env },
      );
      assert.equal(r.status, 0, r.stderr);
      assert.ok(JSON.parse(body).image.history.length > 0);
      for (const s of [KEY, AKID, PASSWORD]) assert.equal(leaks(body, s), undefined, 'upload');
    } finally {
      server.close();
    }
  });
});

describe('Redactions', () => {
  it('masks each value wherever it stands, keys included, longest first, and leaves short words alone', () => {
    const r = new Redactions();
    r.add(KEY);
    r.add(KEY.slice(0, 20));
    r.addNamed('postgres'); // a word: too likely elsewhere (package names) to mask everywhere
    r.addNamed(PASSWORD);
    const doc = {
      a: [`x ${KEY} y`, { [`k-${PASSWORD}`]: 'postgres' }],
      m: new Map([['k', PASSWORD]]),
      b: Buffer.from(KEY),
    };
    r.apply(doc);
    assert.equal(doc.a[0], `x wJal${'*'.repeat(24)} y`);
    assert.deepEqual(doc.a[1], { [`k-Zq8m${'*'.repeat(12)}`]: 'postgres' });
    assert.equal(doc.m.get('k'), `Zq8m${'*'.repeat(12)}`);
    assert.equal(doc.b.toString(), KEY, 'bytes are not text to mask');
    assert.equal(r.size, 3);
  });
});
