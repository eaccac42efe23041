import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { interpretDocument, provenanceOf } from '../../src/image/attestations.js';
import { sha256 } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { freePort, Registry } from '../helpers/registry.js';
import { customs, has } from '../helpers/run.js';

// An image pushed the way `docker buildx build --sbom --provenance` leaves it: an index with the
// image and a BuildKit attestation manifest (an SPDX SBOM and SLSA provenance as in-toto
// statements), plus a CycloneDX SBOM attached as an OCI 1.1 referrer (the fallback tag schema,
// since Distribution 2.8 has no referrers API).
const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

let tmp: string;
let reg: Registry;
let env: Record<string, string>;
let imageDigest: string;

function put(dir: string, b: Buffer): { digest: string; size: number } {
  const d = sha256(b);
  writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
  return { digest: d, size: b.length };
}
const json = (o: unknown) => Buffer.from(JSON.stringify(o));

/** Upload a blob and a manifest straight through the Distribution API. */
async function pushRaw(
  repo: string,
  blobs: Buffer[],
  manifest: Buffer,
  ref: string,
  mediaType: string,
): Promise<void> {
  for (const b of blobs) {
    const start = await fetch(`http://${reg.host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const loc = new URL(start.headers.get('location')!, `http://${reg.host}`);
    loc.searchParams.set('digest', sha256(b));
    const done = await fetch(loc, {
      method: 'PUT',
      body: b,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(done.status, 201, await done.text());
  }
  const r = await fetch(`http://${reg.host}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': mediaType },
  });
  assert.equal(r.status, 201, await r.text());
}

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'customs-attest-'));
  env = { CUSTOMS_DB: join(tmp, 'db'), CUSTOMS_CACHE_DIR: join(tmp, 'layers'), DOCKER_CONFIG: tmp };
  assert.equal(customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env }).status, 0);
  reg = new Registry(join(tmp, 'registry'), await freePort());
  await reg.start();

  const layout = join(tmp, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const tar = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.20.3-x86_64.tar.gz')));
  const layer = put(layout, gzipSync(tar));
  const config = put(
    layout,
    json({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created_by: 'ADD alpine-minirootfs-3.20.3-x86_64.tar.gz /' }],
    }),
  );
  const image = put(
    layout,
    json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  imageDigest = image.digest;

  // The SPDX SBOM Customs itself writes for the same root filesystem, with one package swapped,
  // so the comparison has something to find.
  writeFileSync(join(tmp, 'rootfs.tar'), tar);
  const rootfs = join(tmp, 'rootfs');
  mkdirSync(rootfs);
  assert.equal(spawnSync('tar', ['-xf', join(tmp, 'rootfs.tar'), '-C', rootfs]).status, 0);
  const spdx = JSON.parse(customs(['sbom', rootfs, '--format', 'spdx', '-q']).stdout);
  const zlib = spdx.packages.find((p: { name: string }) => p.name === 'zlib');
  spdx.packages = spdx.packages.filter((p: { name: string }) => p.name !== 'zlib');
  spdx.relationships = spdx.relationships.filter(
    (r: { relatedSpdxElement: string }) => r.relatedSpdxElement !== zlib.SPDXID,
  );
  spdx.packages.push({
    ...zlib,
    SPDXID: 'SPDXRef-extra',
    name: 'extra-pkg',
    versionInfo: '1.0-r0',
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: 'pkg:apk/alpine/extra-pkg@1.0-r0?arch=x86_64&distro=alpine-3.20.3',
      },
    ],
  });
  const subject = [
    { name: 'pkg:docker/team/attested@1?platform=linux%2Famd64', digest: { sha256: image.digest.slice(7) } },
  ];
  const sbomStatement = put(
    layout,
    json({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://spdx.dev/Document',
      subject,
      predicate: spdx,
    }),
  );
  const provStatement = put(
    layout,
    json({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject,
      predicate: {
        builder: { id: 'https://github.com/org/app/actions/runs/42' },
        buildType: 'https://mobyproject.org/buildkit@v1',
        materials: [
          { uri: 'pkg:docker/alpine@3.20?platform=linux%2Famd64', digest: { sha256: 'ab'.repeat(32) } },
        ],
        invocation: { configSource: { entryPoint: 'Dockerfile' } },
        metadata: {
          'https://mobyproject.org/buildkit@v1#metadata': {
            vcs: { source: 'https://github.com/org/app', revision: COMMIT },
          },
        },
      },
    }),
  );
  const attConfig = put(
    layout,
    json({
      architecture: 'unknown',
      os: 'unknown',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sbomStatement.digest, provStatement.digest] },
    }),
  );
  const attManifest = put(
    layout,
    json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...attConfig },
      layers: [
        {
          mediaType: 'application/vnd.in-toto+json',
          ...sbomStatement,
          annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' },
        },
        {
          mediaType: 'application/vnd.in-toto+json',
          ...provStatement,
          annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
        },
      ],
    }),
  );
  const index = put(
    layout,
    json({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, ...image, platform: { architecture: 'amd64', os: 'linux' } },
        {
          mediaType: OCI_MANIFEST,
          ...attManifest,
          platform: { architecture: 'unknown', os: 'unknown' },
          annotations: {
            'vnd.docker.reference.digest': image.digest,
            'vnd.docker.reference.type': 'attestation-manifest',
          },
        },
      ],
    }),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: OCI_INDEX, ...index, annotations: { 'org.opencontainers.image.ref.name': '1' } },
      ],
    }),
  );
  const copy = spawnSync(
    'skopeo',
    ['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:1`, `docker://${reg.host}/team/attested:1`],
    { encoding: 'utf8' },
  );
  assert.equal(copy.status, 0, copy.stderr);

  // A CycloneDX SBOM as an OCI 1.1 referrer artifact of the image, with the fallback tag index.
  const cdx = Buffer.from(customs(['sbom', rootfs, '--format', 'cyclonedx', '-q']).stdout);
  const empty = Buffer.from('{}');
  const artifact = json({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.cyclonedx+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
    layers: [{ mediaType: 'application/vnd.cyclonedx+json', digest: sha256(cdx), size: cdx.length }],
    subject: { mediaType: OCI_MANIFEST, ...image },
  });
  await pushRaw('team/attested', [empty, cdx], artifact, sha256(artifact), OCI_MANIFEST);
  const referrers = json({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: sha256(artifact),
        size: artifact.length,
        artifactType: 'application/vnd.cyclonedx+json',
      },
    ],
  });
  await pushRaw('team/attested', [], referrers, image.digest.replace(':', '-'), OCI_INDEX);
});
after(async () => {
  await reg?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('attestations in a registry', { skip }, () => {
  it('shows the SBOM and provenance attestations and compares the SBOM with its own inventory', () => {
    const r = customs(['sbom', `${reg.host}/team/attested:1`, '--insecure', '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const img = JSON.parse(r.stdout).image;
    assert.equal(img.manifestDigest, imageDigest);
    const byKind = (k: string) => img.attestations.filter((a: { kind: string }) => a.kind === k);
    const [spdx, cdx] = byKind('sbom');
    assert.equal(spdx.via, 'buildkit');
    assert.equal(spdx.sbomFormat, 'spdx');
    assert.deepEqual(spdx.comparison.onlyAttested, ['apk/extra-pkg@1.0-r0']);
    assert.equal(spdx.comparison.onlyCustoms.length, 1);
    assert.match(spdx.comparison.onlyCustoms[0], /^apk\/zlib@/);
    assert.equal(spdx.comparison.common, spdx.comparison.attested - 1);
    assert.equal(cdx.via, 'referrers');
    assert.equal(cdx.sbomFormat, 'cyclonedx');
    assert.deepEqual([cdx.comparison.onlyAttested, cdx.comparison.onlyCustoms], [[], []]);
    const [prov] = byKind('provenance');
    assert.deepEqual(prov.provenance, {
      builder: 'https://github.com/org/app/actions/runs/42',
      buildType: 'https://mobyproject.org/buildkit@v1',
      sourceRepo: 'https://github.com/org/app',
      commit: COMMIT,
      materials: ['pkg:docker/alpine@3.20?platform=linux%2Famd64'],
    });
    assert.match(
      r.stderr,
      /SPDX SBOM attestation \(buildkit\): \d+ packages, \d+ also found by Customs, 1 only in the attestation \(apk\/extra-pkg@1\.0-r0\), 1 only in Customs' inventory/,
    );
    assert.match(
      r.stderr,
      new RegExp(
        `provenance \\(buildkit\\): builder https://github.com/org/app/actions/runs/42, source https://github.com/org/app, commit ${COMMIT}`,
      ),
    );
  });

  it('--use-attested-sbom scans the attested inventory without reading a layer', () => {
    const e = { ...env, CUSTOMS_CACHE_DIR: join(tmp, 'fresh-cache') };
    const r = customs(
      ['image', `${reg.host}/team/attested:1`, '--insecure', '--use-attested-sbom', '--format', 'json'],
      { env: e },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /0 downloaded, 0 from the cache/);
    const names = JSON.parse(r.stdout).packages.map((p: { name: string }) => p.name);
    assert.ok(names.includes('extra-pkg'));
    assert.ok(!names.includes('zlib'));
    assert.match(r.stderr, /inventory taken from the image's spdx SBOM attestation/);
  });

  it('without attestations --use-attested-sbom reads the layers and says so', async () => {
    const plain = spawnSync(
      'skopeo',
      [
        'copy',
        '--dest-tls-verify=false',
        `oci:${join(tmp, 'layout')}:1`,
        `docker://${reg.host}/team/plain:1`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(plain.status, 0, plain.stderr);
    const r = customs(
      ['image', `${reg.host}/team/plain:1`, '--insecure', '--use-attested-sbom', '--format', 'json'],
      { env },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /carries no SBOM attestation; its layers were read/);
    assert.ok(JSON.parse(r.stdout).packages.some((p: { name: string }) => p.name === 'zlib'));
  });

  it('a referrers index of thousands of entries is read only so far, with a warning', async () => {
    const copy = spawnSync(
      'skopeo',
      [
        'copy',
        '--dest-tls-verify=false',
        `oci:${join(tmp, 'layout')}:1`,
        `docker://${reg.host}/team/crowded:1`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(copy.status, 0, copy.stderr);
    // One SBOM artifact, listed 2,000 times: anyone with push rights can grow the list.
    const cdx = Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [] }));
    const empty = Buffer.from('{}');
    const artifact = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.cyclonedx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.cyclonedx+json', digest: sha256(cdx), size: cdx.length }],
    });
    await pushRaw('team/crowded', [empty, cdx], artifact, sha256(artifact), OCI_MANIFEST);
    const entry = {
      mediaType: OCI_MANIFEST,
      digest: sha256(artifact),
      size: artifact.length,
      artifactType: 'application/vnd.cyclonedx+json',
    };
    const index = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: Array(2000).fill(entry) });
    await pushRaw('team/crowded', [], index, imageDigest.replace(':', '-'), OCI_INDEX);
    const r = customs(['sbom', `${reg.host}/team/crowded:1`, '--insecure', '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const sboms = out.image.attestations.filter((a: { via: string }) => a.via === 'referrers');
    assert.equal(sboms.length, 32);
    assert.match(JSON.stringify(out) + r.stderr, /only the first 32 referrers and 32 documents/);
  });
});

describe('in-toto statements', () => {
  it('SLSA provenance v1 as BuildKit writes it', () => {
    const p = provenanceOf('https://slsa.dev/provenance/v1', {
      buildDefinition: {
        buildType: 'https://mobyproject.org/buildkit@v1',
        externalParameters: {
          configSource: { uri: 'https://github.com/org/app.git#main', digest: { sha1: COMMIT } },
        },
        resolvedDependencies: [{ uri: 'pkg:docker/debian@12' }],
      },
      runDetails: { builder: { id: 'https://github.com/actions/runner' } },
    });
    assert.deepEqual(p, {
      builder: 'https://github.com/actions/runner',
      buildType: 'https://mobyproject.org/buildkit@v1',
      sourceRepo: 'https://github.com/org/app.git#main',
      commit: COMMIT,
      materials: ['pkg:docker/debian@12'],
    });
  });
  it('unknown predicates are kept as "other"; bare SBOM documents are recognised', () => {
    assert.equal(
      interpretDocument({ predicateType: 'https://example.com/x', predicate: {} }, 'referrers', 'sha256:1')
        .attestation.kind,
      'other',
    );
    assert.equal(
      interpretDocument({ bomFormat: 'CycloneDX' }, 'referrers', 'sha256:1').attestation.sbomFormat,
      'cyclonedx',
    );
    assert.equal(
      interpretDocument({ spdxVersion: 'SPDX-2.3' }, 'referrers', 'sha256:1').attestation.sbomFormat,
      'spdx',
    );
  });
});
