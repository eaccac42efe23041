import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../helpers/paths.js';

// The shipped Kubernetes manifests, each object validated against the Kubernetes JSON schemas that
// the kubernetes-models package carries (no kube-apiserver here), plus what HA needs of them.
const dir = join(ROOT, 'deploy/kubernetes');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  webhooks?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  [k: string]: unknown;
}

function objects(): Array<{ file: string; obj: Obj }> {
  const kustomization = parseAllDocuments(
    readFileSync(join(dir, 'kustomization.yaml'), 'utf8'),
  )[0].toJS() as {
    resources: string[];
  };
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  assert.deepEqual([...kustomization.resources].sort(), files.sort(), 'kustomization lists every manifest');
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
      assert.equal(d.errors.length, 0, `${file}: ${d.errors.join('; ')}`);
      return { file, obj: d.toJS() as Obj };
    }),
  );
}

/** The model class of an object: kubernetes-models/<group>/<version>/<Kind> (core: v1/<Kind>). */
async function model(o: Obj): Promise<new (x: unknown) => { validate(): void }> {
  const mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, unknown>;
  const cls = (mod[o.kind] ?? mod.default) as new (x: unknown) => { validate(): void };
  assert.ok(cls, `no schema for ${o.apiVersion} ${o.kind}`);
  return cls;
}

describe('deploy/kubernetes', () => {
  it('every object is valid against the Kubernetes schemas', async () => {
    const all = objects();
    assert.ok(all.length >= 10);
    for (const { file, obj } of all) {
      const Model = await model(obj);
      assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata.name}`);
    }
    // The validators do refuse what the API server would: a broken copy of the server Deployment.
    const server = all.find((o) => o.obj.kind === 'Deployment')!.obj;
    const broken = structuredClone(server);
    broken.spec.replicas = 'two';
    delete broken.spec.template.spec.containers[0].name;
    const Model = await model(broken);
    assert.throws(() => new Model(broken).validate());
  });

  it('runs two server replicas with probes, a disruption budget and both webhooks', () => {
    const all = objects().map((o) => o.obj);
    const find = (kind: string, name: string) => {
      const o = all.find((x) => x.kind === kind && x.metadata.name === name);
      assert.ok(o, `${kind} ${name}`);
      return o;
    };
    const server = find('Deployment', 'customs-server');
    assert.ok(server.spec.replicas >= 2);
    assert.equal(server.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const c = server.spec.template.spec.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    const env = (name: string) => c.env.find((e: { name: string }) => e.name === name);
    assert.equal(env('CUSTOMS_SECRET_KEY').valueFrom.secretKeyRef.name, 'customs');
    assert.equal(env('CUSTOMS_DATABASE').valueFrom.secretKeyRef.name, 'customs');
    const worker = find('Deployment', 'customs-worker');
    assert.equal(worker.spec.template.spec.containers[0].args[0], 'worker');
    const pdb = find('PodDisruptionBudget', 'customs-server');
    assert.deepEqual(pdb.spec.selector.matchLabels, server.spec.selector.matchLabels);
    assert.equal(pdb.spec.minAvailable, 1);
    const svc = find('Service', 'customs');
    assert.deepEqual(svc.spec.selector, server.spec.template.metadata.labels);
    const validating = find('ValidatingWebhookConfiguration', 'customs');
    const mutating = find('MutatingWebhookConfiguration', 'customs');
    assert.equal(validating.webhooks[0].failurePolicy, 'Fail');
    assert.equal(validating.webhooks[0].clientConfig.service.path, '/admission/validate');
    assert.equal(mutating.webhooks[0].clientConfig.service.path, '/admission/mutate');
    for (const w of [validating.webhooks[0], mutating.webhooks[0]]) {
      assert.ok(w.clientConfig.caBundle, 'a CA bundle');
      assert.equal(w.clientConfig.service.name, svc.metadata.name);
      const skipped = w.namespaceSelector.matchExpressions.find(
        (e: { key: string }) => e.key === 'kubernetes.io/metadata.name',
      );
      assert.ok(skipped.values.includes('customs'), 'customs never judges itself');
    }
    assert.ok(all.some((o) => o.kind === 'NetworkPolicy'));
    assert.ok(all.some((o) => o.kind === 'Secret' && o.metadata.name === 'customs'));
  });
});

describe('deploy/compose.yaml', () => {
  it('runs two servers behind haproxy, each with its own database copy, sharing one secret key', () => {
    const compose = parseAllDocuments(readFileSync(join(ROOT, 'deploy/compose.yaml'), 'utf8'), {
      merge: true,
    })[0].toJS({
      maxAliasCount: 100,
    }) as {
      services: Record<
        string,
        { command?: string[]; environment?: Record<string, string>; volumes?: string[] }
      >;
    };
    const servers = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === 'server');
    assert.equal(servers.length, 2);
    const volumes = servers.map(([, s]) => s.volumes?.[0].split(':')[0]);
    assert.notEqual(volumes[0], volumes[1], 'one database copy per replica');
    for (const [, s] of servers) assert.match(s.environment?.CUSTOMS_SECRET_KEY ?? '', /CUSTOMS_SECRET_KEY/);
    const haproxy = readFileSync(join(ROOT, 'deploy/haproxy.cfg'), 'utf8');
    for (const [name] of servers) assert.match(haproxy, new RegExp(`server ${name} ${name}:8420 check`));
    assert.match(haproxy, /httpchk GET \/readyz/);
  });
});
