/* eslint-disable @typescript-eslint/no-explicit-any -- API answers, read as JSON */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { importAlpineDb } from '../helpers/gate-setup.js';
import { alpineMuslLayer, ociLayout } from '../helpers/image-writer.js';
import { freePort } from '../helpers/registry.js';
import { customsAsync } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// Attack reproductions on the signed VEX: what the weakest tokens (developer = report, viewer =
// read) can make the server sign with the key every cluster and pipeline trusts. Each test asserts
// the safe answer: it fails while the hole is open. On both stores.

describeStores('attack: signed VEX', { timeout: 300_000 }, (engine) => {
  let tmp: string;
  let store: TestStore;
  let vulndb: string;
  let layout: string;
  let server: CustomsServer;
  const api: Record<string, Api> = {};
  let digest: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-xc-'));
    vulndb = join(tmp, 'vuln.db');
    importAlpineDb(vulndb);
    layout = join(tmp, 'layout');
    ociLayout(layout, { layers: [await alpineMuslLayer('1.1.18-r3')], tag: 'latest' });
    store = await freshStore(engine, join(tmp, 'data'), 'xc_vex');
    const storeArgs = store.args;
    const tokens = {
      admin: makeToken(storeArgs, 'admin', ['--name', 'admin']),
      dev: makeToken(storeArgs, 'developer', ['--name', 'pipeline']),
      viewer: makeToken(storeArgs, 'viewer', ['--name', 'wall-screen']),
    };
    server = new CustomsServer(await freePort(), [...storeArgs, '--db', vulndb, '--workers', '1'], {
      XDG_CACHE_HOME: join(tmp, 'cache'),
    });
    await server.start();
    for (const [k, t] of Object.entries(tokens)) api[k] = new Api(server.url, t);
    // A CI report of an image no configured registry holds: the server never pulled it.
    const r = await customsAsync(
      [
        'image',
        `oci:${layout}:latest`,
        '--format',
        'json',
        '-q',
        '--report-to',
        server.url,
        '--token',
        api.dev.token!,
      ],
      { env: { CUSTOMS_DB: vulndb, CUSTOMS_REPORT_REPOSITORY: 'nowhere.invalid/team/app:1.0' } },
    );
    assert.equal(r.status, 0, r.stderr);
    digest = JSON.parse(r.stdout).image.manifestDigest as string;
    await waitFor(
      async () =>
        (await api.admin.get(`/api/v1/images?digest=${digest}`)).body.items?.some(
          (i: any) => i.status === 'scanned',
        ),
      60_000,
      `the server's match\n${server.log.slice(-2000)}`,
    );
  });
  after(async () => {
    await server?.stop();
    await store?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("a developer's own staging waiver becomes a server-signed not_affected that silences a production scan", async () => {
    // Staging needs no sign-off: the developer's exception is active at once, for every image.
    const e = await api.dev.post('/api/v1/exceptions', {
      vulnerability: 'CVE-2019-14697',
      environments: ['staging'],
      reason: 'nobody reaches it there',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    assert.equal(e.body.state, 'active');
    // A viewer (read) asks for it signed: no registry holds the digest, the result is a CI report.
    const v = await fetch(`${server.url}/api/v1/images/${digest}/vex?environment=staging&signed=1`, {
      headers: { authorization: `Bearer ${api.viewer.token}` },
    });
    const signedBody = await v.text();
    const key = await (await fetch(`${server.url}/api/v1/attestation-key`)).text();
    writeFileSync(join(tmp, 'vex.dsse.json'), signedBody);
    writeFileSync(join(tmp, 'server.pub'), key);
    let statement: any;
    try {
      statement = JSON.parse(Buffer.from(JSON.parse(signedBody).payload, 'base64').toString('utf8'));
    } catch {
      statement = undefined;
    }
    // The production pipeline trusts the server's key (as docs/gate.md says to).
    const scan = await customsAsync(
      [
        'image',
        `oci:${layout}:latest`,
        '--env',
        'production',
        '--format',
        'json',
        '-q',
        '--vex',
        join(tmp, 'vex.dsse.json'),
        '--vex-key',
        join(tmp, 'server.pub'),
      ],
      { env: { CUSTOMS_DB: vulndb } },
    );
    const out = scan.stdout ? JSON.parse(scan.stdout) : {};
    const still = (out.findings ?? []).some((f: any) => f.id === 'CVE-2019-14697');
    // Safe: nothing is signed (then the production scan refuses the unsigned answer as a VEX), or
    // what is signed names the environment it holds in; either way the finding is not silenced.
    assert.deepEqual(
      {
        signedForUnpulledDigest: v.status === 200,
        signedWithoutEnvironment:
          statement !== undefined && !JSON.stringify(statement.predicate ?? {}).includes('staging'),
        productionScanSilenced: scan.status === 0 && !still,
      },
      { signedForUnpulledDigest: false, signedWithoutEnvironment: false, productionScanSilenced: false },
      `status ${v.status}; scan exit ${scan.status}; suppressed: ${JSON.stringify(out.suppressed?.map((s: any) => [s.id, s.suppression]))}`,
    );
  });

  it('signing needs the approve permission, and a digest the server scanned itself', async () => {
    const ask = (who: string, query: string) =>
      fetch(`${server.url}/api/v1/images/${digest}/vex${query}`, {
        headers: { authorization: `Bearer ${api[who].token}` },
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    // An exception for every environment, signed off: the unsigned VEX states it to a viewer.
    const e = await api.admin.post('/api/v1/exceptions', {
      vulnerability: 'CVE-2019-14697',
      reason: 'not reachable from the entrypoint',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    if (e.body.state !== 'active')
      assert.equal((await api.admin.post(`/api/v1/exceptions/${e.body.id}/approve`, {})).status, 200);
    const plain = await ask('viewer', '');
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.ok(plain.body.statements.some((s: any) => s.vulnerability.name === 'CVE-2019-14697'));
    const viewer = await ask('viewer', '?signed=1');
    assert.equal(viewer.status, 403);
    assert.match(viewer.body.error.message, /needs the approve permission/);
    const dev = await ask('dev', '?signed=1');
    assert.equal(dev.status, 403);
    // An admin may sign, but not the client's word: the server never pulled this digest.
    const admin = await ask('admin', '?signed=1');
    assert.equal(admin.status, 409, JSON.stringify(admin.body));
    assert.match(admin.body.error.message, /has not scanned .* itself .* a reported one/);
  });
});
