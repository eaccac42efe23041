/* eslint-disable @typescript-eslint/no-explicit-any -- registry answers are read as the registry sent them */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signEnvelope } from '../../src/gate/attest/dsse.js';
import {
  attachReferrers,
  MAX_REFERRERS,
  REFERRER_KEY,
  REFERRER_PREDICATE,
  referrersTag,
} from '../../src/gate/attest/oci.js';
import { attestImage, CONTENT_FORMAT, type AttestDeps } from '../../src/gate/attest/server.js';
import { createSigningKey, loadAttestationKey, loadSigner } from '../../src/gate/server-key.js';
import { artifactReason } from '../../src/image/registry/artifact.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import type { ScanResult } from '../../src/model/scan.js';
import type { Policy } from '../../src/policy/policy.js';
import {
  attestationsOf,
  attestedDigests,
  knownArtifacts,
  putAttestation,
} from '../../src/store/attestations.js';
import { openDb, type Db } from '../../src/store/db.js';
import { recordImage, saveScan } from '../../src/store/images.js';
import { upsertRegistry } from '../../src/store/registries.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { makeTar, ociLayout } from '../helpers/image-writer.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { has } from '../helpers/run.js';
import { cleanResult } from '../helpers/results.js';
import { artifactReasonOf, layerOf, OCI_INDEX, OCI_MANIFEST, runnableImage, sha } from '../helpers/oci.js';

// Attacking the OCI referrers the server pushes, as whoever may push to the image's repository
// (or a hostile registry) would: a crafted fallback index naming the image itself and another
// image as "our superseded referrers", thousands of entries, an index over the size bound, and
// artifact manifests dressed as images. Debian's docker-registry has no referrers API, so the
// fallback tag is what is attacked.
const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

describe('attack: the referrers the server pushes', { skip, timeout: 120_000 }, () => {
  let tmp: string;
  let reg: Registry;
  let db: Db;
  let box: SecretBox;
  let deps: AttestDeps;
  let digest: string;
  let decoy: string;
  let keyId: string;
  const policy = { environments: { staging: { rules: [] } } } as unknown as Policy;
  const client = () => new RegistryClient(reg.host, { insecure: true });

  async function push(dir: string, content: string, tag: string): Promise<string> {
    const d = ociLayout(join(tmp, dir), {
      layers: [await makeTar([{ name: 'etc/marker', content }])],
      tag: 'latest',
    }).manifestDigest;
    skopeoCopy(`oci:${join(tmp, dir)}:latest`, `docker://${reg.host}/team/app:${tag}`);
    return d;
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-xc-referrers-'));
    reg = new Registry(join(tmp, 'registry'), await freePort());
    await reg.start();
    db = await openDb({ database: join(tmp, 's.sqlite') });
    box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
    db.signer = await loadSigner(db, box);
    deps = { db, box, policy };
    await upsertRegistry(db, box, { url: `http://${reg.host}`, insecure: true, attest: true });
    digest = await push('app', 'the image', '1.0');
    decoy = await push('decoy', 'another image', 'decoy');
    await recordImage(db, { registry: reg.host, repository: 'team/app', digest });
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
    keyId = (await loadAttestationKey(db, box)).keyId;
  });
  after(async () => {
    await db?.close();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function index(): Promise<{ manifests: any[] }> {
    const c = client();
    try {
      const m = await c.tryManifest('team/app', referrersTag(digest));
      return m ? JSON.parse(m.body.toString('utf8')) : { manifests: [] };
    } finally {
      await c.close();
    }
  }
  async function putIndex(manifests: unknown[]): Promise<void> {
    const c = client();
    try {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
      await c.putManifest('team/app', referrersTag(digest), body, OCI_INDEX);
    } finally {
      await c.close();
    }
  }
  async function exists(d: string): Promise<boolean> {
    const c = client();
    try {
      return !!(await c.tryManifest('team/app', d));
    } finally {
      await c.close();
    }
  }

  it('an index naming the image itself and another image as our old verdicts: neither is deleted; the index stays bounded', async () => {
    const ours = (d: string) => ({
      mediaType: OCI_MANIFEST,
      digest: d,
      size: 500,
      artifactType: 'application/vnd.dsse.envelope.v1+json',
      annotations: {
        [REFERRER_PREDICATE]: 'https://customs.dev/attestation/verdict/v1/staging',
        [REFERRER_KEY]: keyId,
      },
    });
    // Distribution checks that an index lists manifests it holds: the image and the decoy it does.
    await putIndex([ours(digest), ours(decoy)]);
    const r = await attestImage(deps, digest, 86_400);
    assert.equal(r.pushed.length, 1, JSON.stringify(r));
    assert.ok(await exists(digest), 'the image is still there');
    assert.ok(await exists(decoy), 'so is the other image');
    const after = (await index()).manifests;
    assert.ok(after.length <= MAX_REFERRERS, `${after.length} entries`);
    const mine = after.filter((d) => d.annotations?.[REFERRER_KEY] === keyId);
    assert.ok(mine.length >= 2, 'the new referrers are listed (vuln and verdicts)');
    assert.ok(
      !mine.some((d) => d.digest === digest || d.digest === decoy),
      'the crafted entries are dropped',
    );
    // What was pushed is known by digest: its notification will not be taken for an image.
    const known = await knownArtifacts(db, [...mine.map((d) => d.digest), digest]);
    assert.equal(known.size, mine.length);
    assert.ok(!known.has(digest));
  });

  it('a hostile registry: thousands of entries are cut to the bound, an index over 4 MiB is refused, the image never deleted', async () => {
    const subject = { digest, mediaType: OCI_MANIFEST, size: 500 };
    const crafted = (n: number, pad = 10) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            {
              mediaType: OCI_MANIFEST,
              digest,
              size: 500,
              annotations: {
                [REFERRER_PREDICATE]: 'https://customs.dev/attestation/verdict/v1/staging',
                [REFERRER_KEY]: keyId,
              },
            },
            { mediaType: 42, digest: '../../etc', size: -1 },
            ...Array.from({ length: n }, (_, i) => ({
              mediaType: OCI_MANIFEST,
              digest: sha(Buffer.from(`junk${i}`)),
              size: 100,
              annotations: { pad: 'x'.repeat(pad) },
            })),
          ],
        }),
      );
    let answer = crafted(3000);
    // For the referrers API: one genuine earlier referrer of ours, served by digest.
    let api: Buffer | undefined;
    const served = new Map<string, Buffer>();
    const puts: Array<{ url: string; body: Buffer }> = [];
    const deletes: string[] = [];
    const hs = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '';
        if (url === '/v2/') return res.writeHead(200).end('{}');
        if (req.method === 'HEAD' && url.includes('/blobs/'))
          return res.writeHead(200, { 'content-length': '2' }).end();
        if (req.method === 'PUT' && url.includes('/manifests/')) {
          puts.push({ url, body: Buffer.concat(chunks) });
          return res.writeHead(201).end();
        }
        if (req.method === 'DELETE') {
          deletes.push(url);
          return res.writeHead(202).end();
        }
        if (req.method === 'GET' && url.includes('/referrers/') && api)
          return res.writeHead(200, { 'content-type': OCI_INDEX }).end(api);
        const byDigest = served.get(url.split('/manifests/')[1] ?? '');
        if (req.method === 'GET' && byDigest)
          return res.writeHead(200, { 'content-type': OCI_MANIFEST }).end(byDigest);
        if (req.method === 'GET' && url.endsWith(`/manifests/${referrersTag(digest)}`))
          return res.writeHead(200, { 'content-type': OCI_INDEX }).end(answer);
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      });
    });
    await new Promise<void>((done) => hs.listen(0, '127.0.0.1', done));
    const host = `127.0.0.1:${(hs.address() as { port: number }).port}`;
    const { key } = await loadAttestationKey(db, box);
    const envelope = signEnvelope(Buffer.from('{"predicateType":"x","subject":[]}'), key, keyId);
    const add = [{ envelope, predicateType: 'https://customs.dev/attestation/verdict/v1/staging' }];
    const c = new RegistryClient(host, { insecure: true });
    try {
      const r = await attachReferrers(
        c,
        'team/app',
        subject,
        add,
        keyId,
        () => true,
        async () => {},
      );
      assert.equal(r.mode, 'tag');
      assert.match(r.problems.join(' '), /3002 referrers; the first 256 are read/);
      const tag = puts.find((p) => p.url.endsWith(referrersTag(digest)))!;
      const listed = JSON.parse(tag.body.toString('utf8')).manifests;
      assert.ok(listed.length <= MAX_REFERRERS, `${listed.length} entries written`);
      assert.ok(!listed.some((d: any) => d.digest === digest), 'the crafted entry is dropped');
      assert.ok(
        listed.every((d: any) => /^sha256:[0-9a-f]{64}$/.test(d.digest)),
        'malformed ones too',
      );
      assert.deepEqual(deletes, [], 'nothing deleted: the image is the subject, the rest are not ours');

      answer = crafted(24_000, 120); // over the 4 MiB a manifest may have
      assert.ok(answer.length > 4 * 1024 * 1024);
      puts.length = 0;
      await assert.rejects(
        attachReferrers(
          c,
          'team/app',
          subject,
          add,
          keyId,
          () => true,
          async () => {},
        ),
        /referrers index|manifest.*(limit|bytes|large)/i,
      );
      assert.ok(!puts.some((p) => p.url.endsWith(referrersTag(digest))), 'the tag is not rewritten');
      assert.deepEqual(deletes, []);

      // A registry with the referrers API lists them itself: no tag is written; our superseded
      // referrer (read first: it is ours, about this image) is deleted, the image never.
      const annotations = {
        [REFERRER_PREDICATE]: 'https://customs.dev/attestation/verdict/v1/staging',
        [REFERRER_KEY]: keyId,
      };
      const earlier = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.dsse.envelope.v1+json',
          config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: sha(Buffer.from('{}')) },
          layers: [],
          subject,
          annotations,
        }),
      );
      served.set(sha(earlier), earlier);
      const desc = (d: string) => ({ mediaType: OCI_MANIFEST, digest: d, size: 100, annotations });
      api = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [desc(digest), desc(sha(earlier))] }));
      puts.length = 0;
      const viaApi = await attachReferrers(
        c,
        'team/app',
        subject,
        add,
        keyId,
        () => true,
        async () => {},
      );
      assert.equal(viaApi.mode, 'api');
      assert.equal(viaApi.removed, 1);
      assert.deepEqual(deletes, [`/v2/team/app/manifests/${sha(earlier)}`]);
      assert.ok(!puts.some((p) => p.url.endsWith(referrersTag(digest))), 'no fallback tag');
    } finally {
      await c.close();
      hs.close();
    }
  });

  it('artifact manifests dressed as images are told apart; images and indexes are not', () => {
    const layer = layerOf;
    const image = runnableImage;
    const reason = artifactReasonOf;
    assert.equal(reason(image), undefined);
    assert.equal(reason({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, OCI_INDEX), undefined);
    // A subject, an artifactType or an odd config on filesystem layers may still run: scanned.
    assert.equal(reason({ ...image, subject: { digest: decoy } }), undefined);
    assert.equal(reason({ ...image, artifactType: 'application/spdx+json' }), undefined);
    const dsse = { ...image, layers: [layer('application/vnd.dsse.envelope.v1+json')] };
    assert.match(reason({ ...dsse, subject: { digest: decoy } })!, /subject/);
    assert.match(reason({ ...dsse, artifactType: 'application/spdx+json' })!, /artifact of type/);
    assert.match(
      reason({ ...image, layers: [layer('application/vnd.dev.cosign.simplesigning.v1+json')] })!,
      /simplesigning/,
    );
    assert.match(reason(dsse)!, /dsse/);
    assert.match(
      reason({
        ...image,
        config: { ...image.config, mediaType: 'application/vnd.cncf.helm.config.v1+json' },
        layers: [layer('application/vnd.cncf.helm.chart.content.v1.tar+gzip')],
      })!,
      /helm/,
    );
    assert.match(reason({}, 'application/vnd.oci.artifact.manifest.v1+json')!, /artifact manifest/);
    assert.equal(artifactReason(Buffer.from('not json'), OCI_MANIFEST), undefined);
  });

  it('a rotated key and an older format make a place due at once (re-signed at start, not in 12 h)', async () => {
    const rec = (await attestationsOf(db, digest))[0];
    const soon = new Date(Date.now() + 60_000).toISOString();
    assert.deepEqual(
      await attestedDigests(db, { dueBefore: soon, limit: 10, keyId, format: CONTENT_FORMAT }),
      [],
    );
    await putAttestation(db, { ...rec, content: 'a-hash-before-the-repository-field' });
    assert.deepEqual(
      await attestedDigests(db, { dueBefore: soon, limit: 10, keyId, format: CONTENT_FORMAT }),
      [digest],
    );
    await attestImage(deps, digest, 86_400);
    assert.deepEqual(
      await attestedDigests(db, { dueBefore: soon, limit: 10, keyId, format: CONTENT_FORMAT }),
      [],
    );
    const rotated = await createSigningKey(db, box, true, 'attestation');
    assert.deepEqual(
      await attestedDigests(db, { dueBefore: soon, limit: 10, keyId: rotated.id, format: CONTENT_FORMAT }),
      [digest],
    );
    const r = await attestImage(deps, digest, 86_400);
    assert.equal(r.pushed.length, 1, 'the new key signs again though nothing else changed');
    assert.equal((await attestationsOf(db, digest))[0].keyId, rotated.id);
  });
});
