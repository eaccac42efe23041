/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { CustomsError } from '../../src/errors.js';
import { kubeAccess, listPods } from '../../src/monitor/kube-inventory.js';
import { ROOT } from '../helpers/paths.js';
import { freePort } from '../helpers/registry.js';
import { customs, has } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';
import { selfSigned } from '../helpers/tls.js';
import { freshStore, itStores } from '../helpers/stores.js';

// What runs where, read from a cluster. No Kubernetes API server runs here, so a loopback HTTPS
// server answers `GET /api/v1/pods` with PodList pages written in the API's published format
// (test/fixtures/kubernetes: Deployments through ReplicaSets, a StatefulSet with an init
// container, pending and locally built Pods, an unmapped kube-system, two pages joined by
// `continue`), asking for the bearer token a kubeconfig gives, over a CA the kubeconfig carries.
// The server's part runs on SQLite and on PostgreSQL.
const skip = has('openssl') ? false : 'openssl is needed';
const TOKEN = 'kube-token-of-the-customs-service-account';
const fixture = (name: string) => readFileSync(join(ROOT, 'test/fixtures/kubernetes', name), 'utf8');

let tmp: string;
let api: Server;
let apiUrl: string;
let ca: string;
const requests: Array<{ url: string; auth?: string }> = [];
let rolledOut = false;
let workerGone = false;

function kubeconfig(file: string, user: Record<string, unknown>): string {
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'prod',
      clusters: [
        {
          name: 'prod-cluster',
          cluster: { server: apiUrl, 'certificate-authority-data': Buffer.from(ca).toString('base64') },
        },
      ],
      users: [{ name: 'customs', user }],
      contexts: [{ name: 'prod', context: { cluster: 'prod-cluster', user: 'customs' } }],
    }),
  );
  return file;
}

describe('cluster inventory: what runs where, from the Kubernetes API', { skip, timeout: 120_000 }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-kube-'));
    const tls = selfSigned(tmp, '/CN=kubernetes', ['subjectAltName=IP:127.0.0.1'], 1, 'api');
    ca = readFileSync(tls.cert, 'utf8');
    api = createServer({ key: readFileSync(tls.key), cert: ca }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      requests.push({ url: req.url ?? '', auth: req.headers.authorization });
      const send = (code: number, body: string) =>
        res.writeHead(code, { 'content-type': 'application/json' }).end(body);
      if (req.headers.authorization !== `Bearer ${TOKEN}`)
        return send(
          401,
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: 'Unauthorized',
            code: 401,
          }),
        );
      if (url.pathname !== '/api/v1/pods') return send(404, '{"kind":"Status","code":404}');
      if (url.searchParams.get('continue')) return send(200, fixture('pods-page-2.json'));
      const page = JSON.parse(fixture(rolledOut ? 'pods-page-1-rollout.json' : 'pods-page-1.json'));
      // The worker StatefulSet scaled to zero: its Pod is gone from the list.
      if (workerGone) page.items = page.items.filter((p: any) => p.metadata.name !== 'worker-0');
      send(200, JSON.stringify(page));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    apiUrl = `https://127.0.0.1:${(api.address() as { port: number }).port}`;
  });
  after(() => {
    api?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists every page with the kubeconfig token over its CA; a wrong token is a clear error', async () => {
    const pods = await listPods(kubeAccess(kubeconfig(join(tmp, 'good.yaml'), { token: TOKEN })));
    assert.equal(pods.length, 7);
    assert.ok(
      requests.some((r) => /continue=/.test(r.url)),
      'the second page was asked for',
    );
    assert.ok(requests.every((r) => /limit=\d+/.test(r.url)));
    await assert.rejects(
      listPods(kubeAccess(kubeconfig(join(tmp, 'bad.yaml'), { token: 'stolen' }))),
      (e) => {
        assert.ok(e instanceof CustomsError);
        assert.match(e.message, /the Kubernetes API answered 401: Unauthorized/);
        return true;
      },
    );
    // A kubeconfig whose user signs in through a plugin would make the server run a program.
    const plugin = kubeconfig(join(tmp, 'plugin.yaml'), {
      exec: { command: 'aws', args: ['eks', 'get-token'] },
    });
    const r = customs(['server', '--data', join(tmp, 'never'), '--kube-inventory', plugin]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /kubeconfig: user customs signs in through a plugin, which Customs does not run/);
  });

  itStores(
    'records running images per environment, each workload once, and only what changed',
    {},
    async (engine) => {
      rolledOut = false;
      workerGone = false;
      const store = await freshStore(engine, join(tmp, `data-${engine}`), 'kube');
      const port = await freePort();
      const server = new CustomsServer(port, [
        ...store.args,
        '--workers',
        '0',
        '--db',
        join(tmp, 'no-vulndb.db'),
        '--db-update-interval',
        '0',
        '--kube-inventory',
        kubeconfig(join(tmp, 'server.yaml'), { token: TOKEN }),
        '--kube-interval',
        '1',
      ]);
      try {
        await server.start();
        const admin = new Api(server.url, makeToken(store.args, 'admin'));
        // team-a is the staging namespace (the admission webhook's mapping, from the gate settings).
        assert.equal(
          (await admin.put('/api/v1/environments/staging/gate', { namespaces: ['team-a'] })).status,
          200,
        );
        const running = async (env: string) =>
          ((await admin.get(`/api/v1/environments/${env}`)).body.images as any[])
            .map((i) => `${i.image} ns=${i.namespace} svc=${i.service}`)
            .sort();
        await waitFor(async () => (await running('staging')).length === 1, 20_000, 'the staging Pod');
        assert.deepEqual(await running('production'), [
          `docker.io/library/busybox@sha256:${'c'.repeat(64)} ns=production svc=worker`,
          `registry.example.com/team/web@sha256:${'a'.repeat(64)} ns=production svc=web`,
          `registry.example.com/team/worker@sha256:${'b'.repeat(64)} ns=production svc=worker`,
        ]);
        assert.deepEqual(await running('staging'), [
          `registry.example.com/team/api@sha256:${'d'.repeat(64)} ns=team-a svc=api`,
        ]);
        assert.match(server.log, /"unmapped":\{"kube-system":1\},"ended":0,"msg":"cluster inventory taken"/);
        // Passes that see the same Pods record nothing more.
        const passes = () => (server.log.match(/cluster inventory taken/g) ?? []).length;
        const seen = passes();
        await waitFor(() => passes() >= seen + 2, 10_000, 'two more passes');
        const points = async () => (await admin.get('/api/v1/environments/production/history')).body as any[];
        assert.equal((await points()).length, 3);
        // Images the server has never scanned are queued once their registry is configured (with
        // no worker here, they stay queued): web, worker and api; busybox's docker.io is not set up.
        assert.equal((await admin.get('/api/v1/jobs')).body.queued, 0);
        assert.equal(
          (await admin.post('/api/v1/registries', { url: 'https://registry.example.com' })).status,
          201,
        );
        await waitFor(
          async () => (await admin.get('/api/v1/jobs')).body.queued === 3,
          10_000,
          'three scans queued',
        );
        // A rollout of web: the new ReplicaSet's Pods run another digest.
        rolledOut = true;
        await waitFor(async () => (await points()).length === 4, 10_000, 'the rollout recorded');
        const last = (await points()).at(-1);
        assert.equal(last.image, `registry.example.com/team/web@sha256:${'0123456789abcdef'.repeat(4)}`);
        assert.equal(last.change.previous, `sha256:${'a'.repeat(64)}`);
        assert.equal(last.service, 'web');
        await waitFor(
          async () => (await admin.get('/api/v1/jobs')).body.queued === 4,
          10_000,
          'the new digest queued',
        );
        // The worker scaled to zero: its deployments (the worker and its busybox init container) end,
        // so production no longer lists them (nor alerts or ranks for them); history keeps them, with
        // when they ended. Back up, they run again.
        workerGone = true;
        await waitFor(async () => (await running('production')).length === 1, 10_000, 'the worker ended');
        assert.match((await running('production'))[0], /team\/web@/);
        assert.match(server.log, /"ended":2,"msg":"cluster inventory taken"/);
        const worker = (await points()).find((p: any) => p.repository === 'team/worker');
        assert.match(worker.endedAt, /^\d{4}-\d\d-\d\dT/);
        assert.deepEqual(
          (await points())
            .filter((p: any) => p.endedAt)
            .map((p: any) => p.repository)
            .sort(),
          ['library/busybox', 'team/worker'],
        );
        workerGone = false;
        await waitFor(async () => (await running('production')).length === 3, 10_000, 'the worker back');
        assert.equal((await points()).find((p: any) => p.repository === 'team/worker').endedAt, null);
        assert.equal((await points()).length, 4, 'the same deployment, running again');
      } finally {
        await server.stop();
        await store.drop();
      }
    },
  );
});
