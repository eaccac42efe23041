/* eslint-disable @typescript-eslint/no-explicit-any -- API answers, read as JSON */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import YAML from 'yaml';
import { FIXABLE_RULE, importAlpineDb } from '../helpers/gate-setup.js';
import { alpineMuslLayer, ociLayout } from '../helpers/image-writer.js';
import { freePort } from '../helpers/registry.js';
import { customsAsync } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// Attack reproductions on stored verdicts (branch overview + main merged): a write that changes
// what the gate decides but does not go through staleVerdicts leaves a stale "allowed" behind.
// Each test asserts the safe answer: it fails while the hole is open. On both stores.

const POLICY = { environments: { staging: { rules: [FIXABLE_RULE] }, qa: { rules: [FIXABLE_RULE] } } };

describeStores('attack: stale stored verdicts', { timeout: 300_000 }, (engine) => {
  let tmp: string;
  let store: TestStore;
  let server: CustomsServer;
  const api: Record<string, Api> = {};
  let digest: string;
  const image = () => `registry.local/shop/api@${digest}`;

  async function admit(namespace: string, name: string): Promise<any> {
    const r = await api.hook.post('/admission/validate', {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: randomUUID(),
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        namespace,
        operation: 'CREATE',
        object: {
          metadata: { name, labels: { app: name } },
          spec: { template: { spec: { containers: [{ name, image: image() }] } } },
        },
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.response;
  }
  const stagingRow = async () => {
    const r = await api.admin.get('/api/v1/overview');
    assert.equal(r.status, 200);
    return (r.body as any[]).find((e) => e.name === 'staging').running.find((x: any) => x.digest === digest);
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-xa-'));
    const vulndb = join(tmp, 'vuln.db');
    importAlpineDb(vulndb);
    writeFileSync(join(tmp, 'policy.yaml'), YAML.stringify(POLICY));
    const layout = join(tmp, 'layout');
    ociLayout(layout, { layers: [await alpineMuslLayer('1.1.18-r3')], tag: 'latest' });
    store = await freshStore(engine, join(tmp, 'data'), 'xa');
    const storeArgs = store.args;
    const tokens = {
      admin: makeToken(storeArgs, 'admin', ['--name', 'admin']),
      dev: makeToken(storeArgs, 'developer', ['--name', 'pipeline']),
      hook: makeToken(storeArgs, 'admission', ['--name', 'kube-apiserver']),
    };
    server = new CustomsServer(
      await freePort(),
      [...storeArgs, '--db', vulndb, '--workers', '1', '--policy', join(tmp, 'policy.yaml')],
      { XDG_CACHE_HOME: join(tmp, 'cache') },
    );
    await server.start();
    for (const [k, t] of Object.entries(tokens)) api[k] = new Api(server.url, t);
    for (const name of ['staging', 'qa'])
      await api.admin.post('/api/v1/environments', { name, exposure: 'internal' });
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
      { env: { CUSTOMS_DB: vulndb, CUSTOMS_REPORT_REPOSITORY: 'registry.local/shop/api:1.0' } },
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

  it('turning sign-off on in qa re-pends an exception that also covers staging: staging must not stay allowed', async () => {
    assert.equal(
      (
        await api.dev.post('/api/v1/deployments', {
          image: image(),
          environment: 'staging',
          namespace: 'staging',
          service: 'api',
        })
      ).status,
      201,
    );
    assert.equal((await stagingRow()).decision.status, 'policy-failed', 'the musl CVE fails staging');
    const e = await api.admin.post('/api/v1/exceptions', {
      vulnerability: 'CVE-2019-14697',
      digest,
      environments: ['staging', 'qa'],
      reason: 'not reachable in either environment',
      expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    assert.equal(e.body.state, 'active');
    // Stored now: the overview's row, the decision endpoint's ('' repository) and admission's.
    assert.equal((await stagingRow()).decision.status, 'auto-approved');
    assert.equal(
      (await api.admin.get(`/api/v1/images/${digest}/decision?environment=staging`)).body.status,
      'auto-approved',
    );
    assert.equal((await admit('staging', 'api')).allowed, true);

    // qa now asks for sign-off: main's repend() puts the exception back to pending — everywhere.
    const g = await api.admin.put('/api/v1/environments/qa/gate', { exceptionSignoff: true });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    const list = await api.admin.get('/api/v1/exceptions');
    const items = (Array.isArray(list.body) ? list.body : list.body.items) as any[];
    assert.equal(
      items.find((x) => x.id === e.body.id).state,
      'pending',
      'the exception is no longer in force (in staging either)',
    );

    const d = await api.admin.get(`/api/v1/images/${digest}/decision?environment=staging`);
    const row = await stagingRow();
    const a = await admit('staging', 'api-2');
    assert.deepEqual(
      { decision: d.body.status, overview: row.decision.status, admission: a.allowed },
      { decision: 'policy-failed', overview: 'policy-failed', admission: false },
      'a stored verdict built on an exception that is no longer active is still served',
    );
  });
});
