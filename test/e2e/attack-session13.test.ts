import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  fetchAttestations,
  REFERRER_KEY,
  referrersTag,
  statementOf,
  type Descriptor,
} from '../../src/gate/attest/oci.js';
import { attestImage, type AttestDeps } from '../../src/gate/attest/server.js';
import { OPENVEX_PREDICATE } from '../../src/gate/attest/statement.js';
import { createSigningKey, loadAttestationKey, loadSigner } from '../../src/gate/server-key.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import type { ScanResult } from '../../src/model/scan.js';
import type { Policy } from '../../src/policy/policy.js';
import {
  artifactsOf,
  forgetArtifacts,
  knownArtifacts,
  recordArtifacts,
} from '../../src/store/attestations.js';
import { openDb, type Db } from '../../src/store/db.js';
import { putApproval } from '../../src/store/approvals.js';
import { insertException } from '../../src/store/exceptions.js';
import { recordImage, saveScan } from '../../src/store/images.js';
import { upsertRegistry } from '../../src/store/registries.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { makeTar, ociLayout } from '../helpers/image-writer.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { has } from '../helpers/run.js';
import { cleanResult } from '../helpers/results.js';
import { describeStores, freshStore, itStores, type TestStore } from '../helpers/stores.js';
import { artifactReasonOf, layerOf, OCI_MANIFEST, runnableImage, sha } from '../helpers/oci.js';

// Attack round on this session's changes (referrers, the artifact check, VEX as an attestation).
// What touches the store runs on both stores; the manifest checks need none.

describe('attack: an image dressed as an artifact is still scanned', () => {
  const layer = layerOf;
  const image = runnableImage;
  const reason = artifactReasonOf;

  it('a runnable manifest with a subject, an artifactType or an odd config is an image', () => {
    // Anyone who may push can add these to an image a pod then runs: skipped as an "artifact", it
    // would be admitted wherever unknown images are (dev, staging by default) and never scanned.
    const other = sha(Buffer.from('another image'));
    assert.equal(
      reason({ ...image, subject: { mediaType: OCI_MANIFEST, digest: other, size: 1 } }),
      undefined,
    );
    assert.equal(reason({ ...image, artifactType: 'application/vnd.example.thing' }), undefined);
    assert.equal(
      reason({
        ...image,
        config: { ...image.config, mediaType: 'application/vnd.cncf.helm.config.v1+json' },
      }),
      undefined,
    );
    // 2015's python:3.5.1-alpine: an application/octet-stream config over Docker rootfs layers.
    assert.equal(
      reason({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/octet-stream', size: 2, digest: sha(Buffer.from('{}')) },
        layers: [layer('application/vnd.docker.image.rootfs.diff.tar.gzip')],
      }),
      undefined,
    );
    // Encrypted, zstd, non-distributable layers, and a layer beside an attestation one: may run.
    for (const t of [
      'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',
      'application/vnd.oci.image.layer.v1.tar+zstd',
      'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
      'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
    ])
      assert.equal(
        reason({ ...image, layers: [layer('application/vnd.dsse.envelope.v1+json'), layer(t)] }),
        undefined,
        t,
      );
    // A layer without a type is not proof of an artifact.
    assert.equal(reason({ ...image, subject: { digest: other }, layers: [{ size: 1 }] }), undefined);
  });

  it('what no runtime can run is still an artifact (the loop guard holds)', () => {
    const other = sha(Buffer.from('another image'));
    const empty = { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha(Buffer.from('{}')) };
    // What the server and cosign push as referrers: an empty config, an envelope layer, a subject.
    assert.match(
      reason({
        ...image,
        config: empty,
        artifactType: 'application/vnd.dsse.envelope.v1+json',
        layers: [layer('application/vnd.dsse.envelope.v1+json')],
        subject: { digest: other },
      })!,
      /subject/,
    );
    // OCI 1.1's annotation-only artifact: no layers, the empty config.
    assert.match(reason({ ...image, config: empty, layers: [], subject: { digest: other } })!, /subject/);
    assert.match(reason({ ...image, config: empty, layers: [] })!, /no layers/);
    // Notation's signature, a Helm chart.
    assert.match(
      reason({
        ...image,
        config: { ...empty, mediaType: 'application/vnd.cncf.notary.signature' },
        layers: [layer('application/jose+json')],
      })!,
      /jose/,
    );
    assert.match(
      reason({
        ...image,
        config: { ...empty, mediaType: 'application/vnd.cncf.helm.config.v1+json' },
        layers: [layer('application/vnd.cncf.helm.chart.content.v1.tar+gzip')],
      })!,
      /helm/,
    );
    // An empty image (image config, no layers) is scanned: nothing is found, cheaply.
    assert.equal(reason({ ...image, layers: [] }), undefined);
  });
});

const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

describeStores(
  'attack: the VEX attestation pushed to one repository',
  { skip, timeout: 120_000 },
  (engine) => {
    let tmp: string;
    let store: TestStore;
    let reg: Registry;
    let db: Db;
    let deps: AttestDeps;
    let digest: string;
    const policy = { environments: { staging: { rules: [] } } } as unknown as Policy;

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-x13-'));
      reg = new Registry(join(tmp, 'registry'), await freePort());
      await reg.start();
      store = await freshStore(engine, join(tmp, 'data'), 'x13');
      db = await openDb(store.where);
      const box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
      db.signer = await loadSigner(db, box);
      deps = { db, box, policy };
      await upsertRegistry(db, box, { url: `http://${reg.host}`, insecure: true, attest: true });
      const dir = join(tmp, 'img');
      digest = ociLayout(dir, {
        layers: [await makeTar([{ name: 'etc/marker', content: 'one image, two repositories' }])],
        tag: 'latest',
      }).manifestDigest;
      // The same image in two teams' repositories.
      for (const repository of ['team/app', 'other/secret']) {
        skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/${repository}:1.0`);
        await recordImage(db, { registry: reg.host, repository, digest });
      }
      await saveScan(db, {
        digest,
        dbVersion: 'v1',
        source: 'registry',
        durationMs: 1,
        provenance: { kind: 'server-scan', by: 'registry', at: new Date().toISOString() },
        result: cleanResult('app', {
          os: { id: 'alpine', version: '3.20', idLike: [], source: 'etc/os-release' },
        } as Partial<ScanResult>),
      });
      const at = new Date().toISOString();
      const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
      const base = { expiresAt, state: 'active', createdBy: 'dev', at };
      await insertException(db, { ...base, vulnerability: 'CVE-2099-0001', reason: 'everywhere' });
      await insertException(db, {
        ...base,
        vulnerability: 'CVE-2099-0002',
        repository: `${reg.host}/other/secret`,
        reason: 'the secret team’s internal reasoning',
      });
      await insertException(db, {
        ...base,
        vulnerability: 'CVE-2099-0003',
        environments: ['staging'],
        reason: 'staging only',
      });
    });
    after(async () => {
      await db?.close();
      await store?.drop();
      await reg?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    async function vexAt(repository: string): Promise<string[]> {
      const c = new RegistryClient(reg.host, { insecure: true });
      try {
        const { envelopes } = await fetchAttestations(c, repository, digest);
        const docs = envelopes
          .map((e) => statementOf(e.envelope))
          .filter((s) => s?.predicateType === OPENVEX_PREDICATE);
        assert.equal(docs.length, 1, `one VEX at ${repository}`);
        const text = JSON.stringify(docs[0]);
        return ['CVE-2099-0001', 'CVE-2099-0002', 'CVE-2099-0003', 'secret team'].filter((w) =>
          text.includes(w),
        );
      } finally {
        await c.close();
      }
    }

    it("another repository's exception is not signed into (nor published in) this repository's VEX", async () => {
      const r = await attestImage(deps, digest, 86_400);
      assert.equal(r.pushed.length, 2, 'both places attested');
      assert.deepEqual(await vexAt('team/app'), ['CVE-2099-0001'], 'only what holds at team/app');
      assert.deepEqual(
        await vexAt('other/secret'),
        ['CVE-2099-0001', 'CVE-2099-0002', 'secret team'],
        'its own repository keeps it',
      );
    });
    it('after --rotate, a rejection leaves no verdict of the retired key standing (.att tag or referrers)', async () => {
      const c = new RegistryClient(reg.host, { insecure: true });
      try {
        const signers = async () => {
          const { envelopes } = await fetchAttestations(c, 'team/app', digest);
          return [...new Set(envelopes.flatMap((e) => e.envelope.signatures.map((s) => s.keyid)))];
        };
        const referrers = async () => {
          const m = await c.tryManifest('team/app', referrersTag(digest));
          return m ? (JSON.parse(m.body.toString('utf8')) as { manifests: Descriptor[] }).manifests : [];
        };
        const old = (await loadAttestationKey(db, deps.box)).keyId;
        assert.deepEqual(await signers(), [old]);
        const oldReferrers = (await referrers()).filter((d) => d.annotations?.[REFERRER_KEY] === old);
        assert.ok(oldReferrers.length, 'the retired key has referrers to replace');
        const rotated = await createSigningKey(db, deps.box, true, 'attestation');
        // The gate rejects the image after the rotation: the new key says so...
        await putApproval(db, digest, 'staging', {
          state: 'rejected',
          decided_by: 'lead',
          decision_reason: 'no',
          decided_at: new Date().toISOString(),
        });
        await attestImage(deps, digest, 86_400);
        // ...and no "allowed" of the retired key is left for a verifier that still holds it.
        assert.deepEqual(await signers(), [rotated.id], 'the .att tag holds the new key only');
        assert.deepEqual(
          (await referrers()).filter((d) => d.annotations?.[REFERRER_KEY] === old),
          [],
          'the retired key is out of the index',
        );
        for (const d of oldReferrers)
          assert.equal(await c.tryManifest('team/app', d.digest), undefined, `${d.digest} deleted`);
      } finally {
        await c.close();
      }
    });
  },
);

describeStores(
  'attack: a crowded referrers listing hides our superseded verdict',
  { timeout: 60_000 },
  (engine) => {
    // A registry with the referrers API, where whoever may push has put 300 referrers of their own
    // before the server's (or a registry that pages its listing): the server reads the first 256.
    let tmp: string;
    let store: TestStore;
    let hs: Server;
    let host: string;
    let db: Db;
    let deps: AttestDeps;
    const manifests = new Map<string, Buffer>();
    const tags = new Map<string, string>();
    const blobs = new Map<string, Buffer>();
    const deleted: string[] = [];
    const image = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          size: 2,
          digest: sha(Buffer.from('{}')),
        },
        layers: [],
      }),
    );
    const digest = sha(image);
    const junk = Array.from({ length: 300 }, () => ({
      mediaType: OCI_MANIFEST,
      digest: sha(randomBytes(16)),
      size: 100,
      artifactType: 'application/vnd.dsse.envelope.v1+json',
      annotations: { 'in-toto.io/predicate-type': 'https://example.com/mine' },
    }));
    const policy = { environments: { staging: { rules: [] } } } as unknown as Policy;

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-x13-crowd-'));
      manifests.set(digest, image);
      hs = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const url = new URL(req.url ?? '/', 'http://x');
          const path = url.pathname;
          const body = Buffer.concat(chunks);
          const notFound = () =>
            res
              .writeHead(404, { 'content-type': 'application/json' })
              .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
          if (path === '/v2/') return res.writeHead(200).end('{}');
          const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
          if (blob && (req.method === 'HEAD' || req.method === 'GET')) {
            const b = blobs.get(blob);
            if (!b) return notFound();
            return res
              .writeHead(200, { 'content-length': String(b.length) })
              .end(req.method === 'GET' ? b : undefined);
          }
          if (req.method === 'POST' && path.endsWith('/blobs/uploads/'))
            return res.writeHead(202, { location: '/v2/team/app/blobs/uploads/1' }).end();
          if (req.method === 'PUT' && path.includes('/blobs/uploads/')) {
            blobs.set(url.searchParams.get('digest')!, body);
            return res.writeHead(201).end();
          }
          if (req.method === 'GET' && path.startsWith(`/v2/team/app/referrers/`)) {
            const subject = path.split('/').pop();
            const ours = [...manifests.entries()]
              .filter(([, b]) => JSON.parse(b.toString('utf8')).subject?.digest === subject)
              .map(([d, b]) => {
                const m = JSON.parse(b.toString('utf8'));
                return {
                  mediaType: OCI_MANIFEST,
                  digest: d,
                  size: b.length,
                  artifactType: m.artifactType,
                  annotations: m.annotations,
                };
              });
            return res
              .writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' })
              .end(JSON.stringify({ schemaVersion: 2, manifests: [...junk, ...ours] }));
          }
          const ref = /\/manifests\/(.+)$/.exec(path)?.[1];
          if (!ref) return notFound();
          if (req.method === 'PUT') {
            const d = sha(body);
            manifests.set(d, body);
            if (!ref.startsWith('sha256:')) tags.set(ref, d);
            return res.writeHead(201, { 'docker-content-digest': d }).end();
          }
          if (req.method === 'DELETE') {
            deleted.push(ref);
            manifests.delete(ref);
            return res.writeHead(202).end();
          }
          const m = manifests.get(tags.get(ref) ?? ref);
          if (req.method === 'GET' && m) return res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(m);
          notFound();
        });
      });
      await new Promise<void>((done) => hs.listen(0, '127.0.0.1', done));
      host = `127.0.0.1:${(hs.address() as { port: number }).port}`;
      store = await freshStore(engine, join(tmp, 'data'), 'x13_crowd');
      db = await openDb(store.where);
      const box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
      db.signer = await loadSigner(db, box);
      deps = { db, box, policy };
      await upsertRegistry(db, box, { url: `http://${host}`, insecure: true, attest: true });
      await recordImage(db, { registry: host, repository: 'team/app', digest });
    });
    after(async () => {
      await db?.close();
      await store?.drop();
      await new Promise((done) => hs?.close(done));
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('a rejection deletes the earlier verdict the listing no longer shows among its first 256', async () => {
      await attestImage(deps, digest, 86_400);
      const verdictsNow = () =>
        [...manifests.entries()]
          .filter(([, b]) => JSON.parse(b.toString('utf8')).subject?.digest === digest)
          .map(([d]) => d);
      const first = verdictsNow();
      assert.ok(first.length, 'referrers pushed');
      await putApproval(db, digest, 'staging', {
        state: 'rejected',
        decided_by: 'lead',
        decision_reason: 'no',
        decided_at: new Date().toISOString(),
      });
      await attestImage(deps, digest, 86_400);
      for (const d of first) assert.ok(deleted.includes(d), `${d} (superseded) deleted`);
      assert.ok(!deleted.includes(digest), 'never the image');
      assert.ok(!junk.some((j) => deleted.includes(j.digest)), 'nor what others pushed');
      // What was deleted is forgotten: the next push does not look for it again.
      const again = deleted.length;
      await putApproval(db, digest, 'staging', {
        state: 'approved',
        decided_by: 'lead',
        decided_at: new Date().toISOString(),
      });
      await attestImage(deps, digest, 86_400);
      assert.ok(deleted.length > again, 'the rejection is replaced in turn');
      assert.equal(new Set(deleted).size, deleted.length, 'nothing deleted twice');
    });
  },
);

describe('the referrers the server remembers, per place', () => {
  itStores('by subject and place, newest first; forgotten once gone', {}, async (engine) => {
    const tmp = mkdtempSync(join(tmpdir(), 'customs-x13-art-'));
    const store = await freshStore(engine, join(tmp, 'data'), 'x13_art');
    const db = await openDb(store.where);
    try {
      const d = (s: string) => sha(Buffer.from(s));
      await recordArtifacts(db, d('img'), [d('a1'), d('a2')], 'reg/a');
      await new Promise((r) => setTimeout(r, 5));
      await recordArtifacts(db, d('img'), [d('a3')], 'reg/a');
      await recordArtifacts(db, d('img'), [d('b1')], 'reg/b');
      await recordArtifacts(db, d('other'), [d('o1')], 'reg/a');
      const a = await artifactsOf(db, d('img'), 'reg/a', 10);
      assert.equal(a[0], d('a3'), 'newest first');
      assert.deepEqual([...a].sort(), [d('a1'), d('a2'), d('a3')].sort(), 'this place and image only');
      assert.deepEqual(await artifactsOf(db, d('img'), 'reg/a', 1), [d('a3')]);
      await forgetArtifacts(db, [d('a1'), d('a3')]);
      assert.deepEqual(await artifactsOf(db, d('img'), 'reg/a', 10), [d('a2')]);
      assert.deepEqual([...(await knownArtifacts(db, [d('b1'), d('a1')]))], [d('b1')]);
    } finally {
      await db.close();
      await store.drop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
