/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are read loosely here */
// Admission decisions as the Kubernetes API server asks for them: p50/p99 latency and requests per
// second from one server on loopback (autocannon), with a warm cache: the goal is p99 ≤ 20 ms at
// 200 requests/s. Run by `npm run bench` (after the build).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { makeTar, ociLayout } from '../test/helpers/image-writer.js';
import { shared } from '../test/helpers/paths.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../test/helpers/registry.js';
import { customs, has } from '../test/helpers/run.js';
import { CustomsServer, makeToken } from '../test/helpers/server.js';

function review(images: string[]) {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      namespace: 'production',
      operation: 'CREATE',
      object: {
        metadata: { name: 'web' },
        spec: { template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } },
      },
    },
  });
}

async function main(): Promise<void> {
  if (!has('docker-registry') || !has('skopeo')) {
    console.log('admission-bench: docker-registry and skopeo are needed; skipped');
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'customs-admission-bench-'));
  const data = join(tmp, 'data');
  const vulndb = join(tmp, 'vuln.db');
  customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']);
  const port = await freePort();
  const hook = makeToken(['--data', data], 'webhook');
  const admin = makeToken(['--data', data], 'admin');
  const reg = new Registry(join(tmp, 'registry'), await freePort(), '', notifyCustoms(port, hook));
  await reg.start();
  const server = new CustomsServer(port, ['--data', data, '--db', vulndb, '--workers', '1'], {
    CUSTOMS_LOG_LEVEL: 'warn',
  });
  await server.start();
  const call = (method: string, path: string, body?: unknown, token = admin) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((r) => r.json() as Promise<any>);
  try {
    await call('POST', '/api/v1/registries', { url: `http://${reg.host}`, insecure: true });
    const images: string[] = [];
    for (const name of ['web', 'sidecar']) {
      const dir = join(tmp, name);
      const { manifestDigest } = ociLayout(dir, {
        layers: [await makeTar([{ name: 'etc/marker', content: name }])],
      });
      skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/bench/${name}:1.0`);
      for (;;) {
        const r = await call('GET', `/api/v1/images?digest=${manifestDigest}`);
        if (r.items?.[0]?.status === 'scanned') break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await call('POST', '/api/v1/approvals', {
        image: `${reg.host}/bench/${name}@${manifestDigest}`,
        environment: 'production',
        decision: 'approve',
        reason: 'bench',
      });
      images.push(`${reg.host}/bench/${name}:1.0`);
    }
    const url = `${server.url}/admission/validate`;
    const headers = { authorization: `Bearer ${hook}`, 'content-type': 'application/json' };
    // Cold: the first decision reads the store (and resolves the tags through the registry).
    const t0 = performance.now();
    const first = (await fetch(url, { method: 'POST', headers, body: review(images) }).then((r) =>
      r.json(),
    )) as any;
    const cold = performance.now() - t0;
    if (!first.response?.allowed) throw new Error(`bench image not admitted: ${JSON.stringify(first)}`);
    const run = (o: { overallRate?: number; connections: number; duration: number }) =>
      autocannon({ url, method: 'POST', headers, body: review(images), ...o });
    const paced = await run({ overallRate: 200, connections: 10, duration: 15 });
    const flat = await run({ connections: 10, duration: 10 });
    const line = (what: string, r: autocannon.Result) =>
      `${what}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms, non-2xx ${r.non2xx}, errors ${r.errors}`;
    console.log(`admission (Deployment with 2 images by tag, SQLite): first decision ${cold.toFixed(1)} ms`);
    console.log(line('  at 200 req/s for 15 s', paced));
    console.log(line('  flat out, 10 connections, 10 s', flat));
  } finally {
    await server.stop();
    await reg.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
