import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// Two Alpine minirootfs images from shared/ as the deployment before and after a base-image
// upgrade, compared against the database built from the shared Alpine secdb.
let tmp: string;
let env: Record<string, string>;
const img: Record<string, string> = {};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-compare-'));
  env = { CUSTOMS_DB: join(tmp, 'db') };
  assert.equal(
    customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '-q'], { env }).status,
    0,
  );
  for (const v of ['3.7.3', '3.20.3']) {
    img[v] = join(tmp, `app-${v}.tar`);
    const layer = gunzipSync(readFileSync(shared(`images/alpine/alpine-minirootfs-${v}-x86_64.tar.gz`)));
    writeFileSync(img[v], await dockerArchive({ layers: [layer], tag: `app:${v}` }));
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('customs compare', () => {
  it('an upgrade from Alpine 3.7.3 to 3.20.3: fixed vulnerabilities, changed packages, grade and base delta', () => {
    const before = JSON.parse(
      customs(['image', img['3.7.3'], '--format', 'json', '--scanners', 'vuln'], { env }).stdout,
    );
    const r = customs(['compare', img['3.7.3'], img['3.20.3'], '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.equal(c.from.os, 'alpine 3.7.3');
    assert.equal(c.to.os, 'alpine 3.20.3');
    assert.equal(c.baseImageChanged, true);
    // Every finding of the old image is fixed; the new one (no secdb entries past its versions) has none.
    assert.deepEqual(
      c.vulnerabilities.fixed.map((f: { id: string; package: string }) => `${f.id} ${f.package}`).sort(),
      before.findings
        .map((f: { id: string; package: { name: string } }) => `${f.id} ${f.package.name}`)
        .sort(),
    );
    assert.ok(c.vulnerabilities.fixed.some((f: { id: string }) => f.id === 'CVE-2019-14697'));
    assert.deepEqual(c.vulnerabilities.introduced, []);
    assert.ok(c.from.risk > c.to.risk);
    const musl = c.packages.changed.find((p: { name: string }) => p.name === 'musl');
    assert.equal(musl.from, '1.1.18-r3');
    assert.match(musl.version, /^1\.2\./);
  });

  it('the reverse is a regression: introduced vulnerabilities fail the gate', () => {
    // secdb gives no severities (UNKNOWN), so any introduced vulnerability fails here.
    const r = customs(['compare', img['3.20.3'], img['3.7.3'], '--exit-code', '4'], { env });
    assert.equal(r.status, 4);
    assert.equal(customs(['compare', img['3.7.3'], img['3.20.3'], '--exit-code', '4'], { env }).status, 0);
    assert.match(r.stdout, /Vulnerabilities: 0 fixed, \d+ introduced/);
    assert.match(r.stdout, /\+ CVE-2019-14697/);
    assert.match(r.stdout, /base image changed: alpine 3\.20\.3 → alpine 3\.7\.3/);
  });

  it('Markdown for a pull-request comment', () => {
    const r = customs(['compare', img['3.7.3'], img['3.20.3'], '--format', 'markdown'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^### Image comparison: /);
    assert.match(r.stdout, /\| base image \| alpine 3\.7\.3 \| alpine 3\.20\.3 \| changed \|/);
    assert.match(r.stdout, /✅ fixed \| CVE-2019-14697/);
  });

  it('the same image twice: nothing changed', () => {
    const c = JSON.parse(
      customs(['compare', img['3.7.3'], img['3.7.3'], '--format', 'json'], { env }).stdout,
    );
    assert.deepEqual(
      [c.vulnerabilities.fixed, c.vulnerabilities.introduced, c.packages.changed, c.baseImageChanged],
      [[], [], [], false],
    );
  });
});
