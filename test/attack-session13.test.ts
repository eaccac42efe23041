import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
} from '../src/gate/attest/oci.js';
import { attestImage, type AttestDeps } from '../src/gate/attest/server.js';
import { OPENVEX_PREDICATE } from '../src/gate/attest/statement.js';
import { createSigningKey, loadAttestationKey, loadSigner } from '../src/gate/server-key.js';
import { artifactReason } from '../src/image/registry/artifact.js';
import { RegistryClient } from '../src/image/registry/client.js';
import type { ScanResult } from '../src/model/scan.js';
import type { Policy } from '../src/policy/policy.js';
import { openDb, type Db } from '../src/store/db.js';
import { putApproval } from '../src/store/approvals.js';
import { insertException } from '../src/store/exceptions.js';
import { recordImage, saveScan } from '../src/store/images.js';
import { upsertRegistry } from '../src/store/registries.js';
import { SecretBox } from '../src/store/secret-box.js';
import { makeTar, ociLayout } from './helpers/image-writer.js';
import { freePort, Registry, skopeoCopy } from './helpers/registry.js';
import { has } from './helpers/run.js';

// Attack round on this session's changes (referrers, the artifact check, VEX as an attestation).

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('attack: an image dressed as an artifact is still scanned', () => {
  const layer = (mediaType: string) => ({ mediaType, size: 1, digest: sha(Buffer.from('x')) });
  const image = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      size: 2,
      digest: sha(Buffer.from('{}')),
    },
    layers: [layer('application/vnd.oci.image.layer.v1.tar+gzip')],
  };
  const reason = (m: object, mt = OCI_MANIFEST) => artifactReason(Buffer.from(JSON.stringify(m)), mt);

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

describe('attack: the VEX attestation pushed to one repository', { skip, timeout: 120_000 }, () => {
  let tmp: string;
  let reg: Registry;
  let db: Db;
  let deps: AttestDeps;
  let digest: string;
  const policy = { environments: { staging: { rules: [] } } } as unknown as Policy;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-x13-'));
    reg = new Registry(join(tmp, 'registry'), await freePort());
    await reg.start();
    db = await openDb({ database: join(tmp, 's.sqlite') });
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
      result: {
        image: { name: 'app', attestations: [], repoTags: [] },
        os: { id: 'alpine', version: '3.20', idLike: [], source: 'etc/os-release' },
        findings: [],
        packages: [],
        suppressed: [],
        warnings: [],
        database: {},
        createdAt: new Date().toISOString(),
        summary: {
          total: 0,
          bySeverity: { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
          fixable: 0,
          kev: 0,
          grade: 'A',
          gradeReason: '',
        },
      } as unknown as ScanResult,
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
});
