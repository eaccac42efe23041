/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { fetchAttestations, statementOf, attestationTag } from '../../src/gate/attest/oci.js';
import { attestImage, type AttestDeps } from '../../src/gate/attest/server.js';
import { loadSigner } from '../../src/gate/server-key.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import type { ScanResult } from '../../src/model/scan.js';
import type { Policy } from '../../src/policy/policy.js';
import { openDb, type Db } from '../../src/store/db.js';
import { recordImage, saveScan } from '../../src/store/images.js';
import { upsertRegistry } from '../../src/store/registries.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { alpineMuslLayer, makeTar, ociLayout } from '../helpers/image-writer.js';
import { schemaErrors2020 } from '../helpers/schemas.js';
import { shared } from '../helpers/paths.js';
import { PG_ADMIN_URL, pgQuery } from '../helpers/pg.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../helpers/registry.js';
import { customs, customsAsync, has } from '../helpers/run.js';
import { Api, CustomsServer, makeToken, waitFor } from '../helpers/server.js';

// The server signs and pushes: an image pushed to Debian's docker-registry is scanned on push, the
// server signs its scan and one verdict per environment with its attestation key and pushes them
// under cosign's .att tag; the key is fetched from GET /api/v1/attestation-key and `customs verify`
// judges the verdict as a cluster would. An approval and then a rejection re-sign at once.
const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

describe('the server attaches signed scans and verdicts', { skip, timeout: 300_000 }, () => {
  let tmp: string;
  let reg: Registry;
  let server: CustomsServer;
  let digest: string;
  let musl: string;
  let keyFile: string;
  let cliEnv: Record<string, string>;
  let firstReferrers: string[] = [];
  const api: Record<string, Api> = {};
  const tok: Record<string, string> = {};
  const client = () => new RegistryClient(reg.host, { insecure: true });
  const image = () => `${reg.host}/team/app@${digest}`;

  const verify = (kind: 'verdict' | 'vuln', env?: string) =>
    customsAsync([
      'verify',
      image(),
      '--key',
      keyFile,
      '--attestation',
      kind,
      ...(env ? ['--env', env] : []),
      '--insecure',
    ]);

  /** The server's verdict for production as the registry holds it now (undefined: none yet). */
  async function productionVerdict(): Promise<any> {
    const c = client();
    try {
      const found = await fetchAttestations(c, 'team/app', digest);
      return found.envelopes
        .map((e) => statementOf(e.envelope))
        .find((s) => s?.predicateType.endsWith('/verdict/v1/production'))?.predicate;
    } finally {
      await c.close();
    }
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-attest-server-'));
    const data = join(tmp, 'data');
    const vulndb = join(tmp, 'vuln.db');
    const imp = customs(['db', 'import', shared('advisories/alpine-secdb'), '--db', vulndb, '-q']);
    assert.equal(imp.status, 0, imp.stderr);
    const policy = join(tmp, 'policy.yaml');
    writeFileSync(
      policy,
      YAML.stringify({
        environments: {
          production: { rules: [{ id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' }] },
          staging: { rules: [] },
        },
      }),
    );
    const store = ['--data', data];
    const port = await freePort();
    tok.hook = makeToken(store, 'webhook', ['--name', 'registry']);
    tok.admin = makeToken(store, 'admin', ['--name', 'admin']);
    tok.dev = makeToken(store, 'developer', ['--name', 'dev']);
    tok.prod = makeToken(store, 'approver', ['--name', 'approver-prod', '--environments', 'production']);
    reg = new Registry(join(tmp, 'registry'), await freePort(), '', notifyCustoms(port, tok.hook, 5));
    await reg.start();
    server = new CustomsServer(port, [...store, '--db', vulndb, '--workers', '1', '--policy', policy]);
    await server.start();
    for (const [k, t] of Object.entries(tok)) api[k] = new Api(server.url, t);
    const r = await api.admin.post('/api/v1/registries', {
      url: `http://${reg.host}`,
      insecure: true,
      attest: true,
      pushUsername: 'pusher',
      pushPassword: 'not-returned',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.attest, true);
    assert.equal(r.body.hasPushCredentials, true);
    assert.doesNotMatch(JSON.stringify(r.body), /not-returned|pusher/, 'push credentials never come back');
    // The registry here has no accounts: the push account is cleared again (kept sealed above).
    assert.equal(
      (
        await api.admin.post('/api/v1/registries', {
          url: `http://${reg.host}`,
          insecure: true,
          attest: true,
        })
      ).status,
      201,
    );

    // The path: GET /api/v1/signing-key gives the PEM cosign, Kyverno and customs verify
    // take; /api/v1/attestation-key is kept as an alias of it.
    const key = await fetch(`${server.url}/api/v1/signing-key`);
    assert.equal(key.status, 200);
    assert.match(key.headers.get('content-type') ?? '', /pem/);
    const pem = await key.text();
    const alias = await fetch(`${server.url}/api/v1/attestation-key`);
    assert.equal(await alias.text(), pem);
    assert.equal(alias.headers.get('x-key-id'), key.headers.get('x-key-id'));
    // As JSON: the audit log's key as before, the attestation key beside it.
    const json = await new Api(server.url).get('/api/v1/signing-key', { accept: 'application/json' });
    assert.equal(json.body.attestation.key.publicKey, pem);
    assert.equal(json.body.attestation.key.id, key.headers.get('x-key-id'));
    assert.notEqual(json.body.key.id, json.body.attestation.key.id, 'the audit log has a key of its own');
    assert.equal(createPublicKey(pem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    keyFile = join(tmp, 'customs-server.pub');
    writeFileSync(keyFile, pem);

    const dir = join(tmp, 'layout');
    digest = ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/marker', content: 'attest me' }])],
      tag: 'latest',
    }).manifestDigest;
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:1.0`);
    const muslDir = join(tmp, 'musl');
    musl = ociLayout(muslDir, { layers: [await alpineMuslLayer()], tag: 'latest' }).manifestDigest;
    skopeoCopy(`oci:${muslDir}:latest`, `docker://${reg.host}/team/musl:1.0`);
    mkdirSync(join(tmp, 'docker'));
    cliEnv = { CUSTOMS_DB: vulndb, DOCKER_CONFIG: join(tmp, 'docker') };
  });
  after(async () => {
    await server?.stop();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('after the server scans a pushed image, its .att tag holds a vuln and a verdict per environment', async () => {
    await waitFor(
      async () => !!(await productionVerdict()),
      90_000,
      `the .att tag\n${server.log.slice(-3000)}`,
    );
    const c = client();
    const found = await fetchAttestations(c, 'team/app', digest);
    await c.close();
    const types = found.envelopes.map((e) => statementOf(e.envelope)?.predicateType).sort();
    assert.deepEqual(types, [
      'https://cosign.sigstore.dev/attestation/vuln/v1',
      'https://customs.dev/attestation/verdict/v1/dev',
      'https://customs.dev/attestation/verdict/v1/production',
      'https://customs.dev/attestation/verdict/v1/staging',
    ]);
    const p = await productionVerdict();
    assert.equal(p.allowed, false, 'production needs a person to approve');
    assert.equal(p.status, 'pending');
    const valid = Date.parse(p.validUntil) - Date.parse(p.decidedAt);
    assert.ok(Math.abs(valid - 86_400_000) < 60_000, `valid for 24 h by default (${valid} ms)`);

    const vuln = await verify('vuln');
    assert.equal(vuln.status, 0, vuln.stdout + vuln.stderr);
    assert.match(vuln.stdout, /vuln attestation accepted/);
    const staging = await verify('verdict', 'staging');
    assert.equal(staging.status, 0, staging.stdout + staging.stderr);
    assert.match(staging.stdout, /allowed in staging \(auto-approved\)/);
    const prod = await verify('verdict', 'production');
    assert.equal(prod.status, 1, prod.stdout);
    assert.match(prod.stdout, /the newest verdict for production is pending/);

    await waitFor(
      async () => {
        const c = client();
        try {
          const idx = await c.tryManifest('team/app', digest.replace(':', '-'));
          firstReferrers = idx
            ? JSON.parse(idx.body.toString('utf8')).manifests.map((d: any) => d.digest)
            : [];
          return firstReferrers.length === 4;
        } finally {
          await c.close();
        }
      },
      60_000,
      'the referrers',
    );

    const audit = await api.admin.get('/api/v1/audit?action=attestation.pushed');
    assert.equal(audit.status, 200);
    assert.ok(audit.body.some((e: any) => e.subject === `image:${reg.host}/team/app@${digest}`));
  });

  it('an approval re-signs: production verifies; a rejection re-signs again and verify refuses', async () => {
    let r = await api.prod.post('/api/v1/approvals', {
      image: image(),
      environment: 'production',
      decision: 'approve',
      reason: 'release 1.0',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(async () => (await productionVerdict())?.allowed === true, 60_000, 'the approved verdict');
    const ok = await verify('verdict', 'production');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /allowed in production \(approved\)/);
    const p = await productionVerdict();
    assert.equal(p.approvals[0].decision, 'approved');
    assert.match(p.approvals[0].by, /approver-prod/);

    r = await api.prod.post('/api/v1/approvals', {
      image: image(),
      environment: 'production',
      decision: 'reject',
      reason: 'CVE found by hand',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(async () => (await productionVerdict())?.status === 'rejected', 60_000, 'the rejection');
    const no = await verify('verdict', 'production');
    assert.equal(no.status, 1, no.stdout);
    assert.match(
      no.stdout,
      /the newest verdict for production is rejected: rejected for production by .*CVE found by hand/,
    );
    // The other verdicts were re-signed beside it, not piled up: one per environment, one scan.
    const c = client();
    const found = await fetchAttestations(c, 'team/app', digest);
    await c.close();
    assert.equal(found.envelopes.length, 4);
  });

  it('the same envelopes as OCI 1.1 referrers (fallback tag on Distribution 2.x), superseded ones deleted; none comes back as an image', async () => {
    const c = client();
    const referrers = async () => {
      const idx = await c.tryManifest('team/app', digest.replace(':', '-'));
      return idx ? (JSON.parse(idx.body.toString('utf8')).manifests as any[]) : [];
    };
    try {
      // The rejection's push is the last: its referrers replaced the earlier ones.
      await waitFor(
        async () =>
          (await referrers()).length === 4 &&
          (await fetchAttestations(c, 'team/app', digest)).envelopes.every(
            (e) => (JSON.stringify(statementOf(e.envelope)) ?? '').length > 0,
          ),
        60_000,
        'four referrers',
      );
      const pub = createPublicKey(readFileSync(keyFile));
      const listed = await referrers();
      const types: string[] = [];
      for (const d of listed) {
        assert.equal(d.artifactType, 'application/vnd.dsse.envelope.v1+json');
        const m = await c.manifest('team/app', d.digest);
        const man = JSON.parse(m.body.toString('utf8'));
        assert.equal(man.subject.digest, digest, 'a referrer of the image');
        assert.equal(man.artifactType, 'application/vnd.dsse.envelope.v1+json');
        const env = JSON.parse((await c.smallBlob('team/app', man.layers[0].digest)).toString('utf8'));
        const body = Buffer.from(env.payload, 'base64');
        const pae = Buffer.concat([
          Buffer.from(`DSSEv1 ${env.payloadType.length} ${env.payloadType} ${body.length} `),
          body,
        ]);
        const { verify: check } = await import('node:crypto');
        assert.ok(check('sha256', pae, pub, Buffer.from(env.signatures[0].sig, 'base64')), 'signed');
        const st = JSON.parse(body.toString('utf8'));
        assert.equal(st.subject[0].digest.sha256, digest.slice(7));
        assert.equal(d.annotations['in-toto.io/predicate-type'], st.predicateType);
        types.push(st.predicateType);
      }
      assert.deepEqual(types.sort(), [
        'https://cosign.sigstore.dev/attestation/vuln/v1',
        'https://customs.dev/attestation/verdict/v1/dev',
        'https://customs.dev/attestation/verdict/v1/production',
        'https://customs.dev/attestation/verdict/v1/staging',
      ]);
      const prod = listed.find((d) => d.annotations['in-toto.io/predicate-type'].endsWith('/production'));
      const st = JSON.parse(
        Buffer.from(
          JSON.parse(
            (
              await c.smallBlob(
                'team/app',
                JSON.parse((await c.manifest('team/app', prod.digest)).body.toString('utf8')).layers[0]
                  .digest,
              )
            ).toString('utf8'),
          ).payload,
          'base64',
        ).toString('utf8'),
      );
      assert.equal(st.predicate.status, 'rejected', 'the referrer says what the .att tag says');

      // Another tool's attestation referrer (an empty config, an envelope layer, a subject; ours
      // with its own annotations), pushed by digest with an image manifest's media type: the webhook
      // cannot tell it from an image, the scan job can. (An image with a subject is still an image:
      // test/e2e/attack-session13.test.ts.)
      const theirs = JSON.parse((await c.manifest('team/app', listed[0].digest)).body.toString('utf8'));
      const dressed = Buffer.from(
        JSON.stringify({ ...theirs, annotations: { 'org.example.signer': 'another tool' } }),
      );
      const foreign = await c.putManifest(
        'team/app',
        `sha256:${createHash('sha256').update(dressed).digest('hex')}`,
        dressed,
        'application/vnd.oci.image.manifest.v1+json',
      );

      // The loop: the registry notified the server of every referrer and index it pushed. A later
      // push is delivered after them (one queue per endpoint): once it is seen, they were too.
      const dir = join(tmp, 'marker');
      const marker = ociLayout(dir, {
        layers: [await makeTar([{ name: 'etc/marker', content: 'after the referrers' }])],
        tag: 'latest',
      }).manifestDigest;
      skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:marker`);
      // One worker, jobs in order: once the marker is scanned, the dressed referrer's job ran.
      await waitFor(
        async () =>
          (await api.admin.get(`/api/v1/images?digest=${marker}`)).body.items?.some(
            (i: any) => i.status === 'scanned',
          ),
        90_000,
        'the marker image scanned',
      );
      assert.deepEqual(
        (await api.admin.get(`/api/v1/images?digest=${foreign}`)).body.items,
        [],
        'the dressed referrer leaves no image row',
      );
      assert.match(
        server.log,
        new RegExp(`${foreign.slice(7)}","reason":"a referrer \\(it has a subject\\)","msg":"not an image`),
      );
      // Those the approval and the rejection superseded are gone from the registry, not only the index.
      const now = new Set(listed.map((d) => d.digest));
      for (const old of firstReferrers.filter((d) => !now.has(d)))
        assert.equal(await c.tryManifest('team/app', old), undefined, `${old} deleted`);
      assert.equal(firstReferrers.filter((d) => !now.has(d)).length, 4, 'every verdict and scan re-pushed');
      // The marker is attested in turn (before the next test counts what is pushed).
      await waitFor(
        async () =>
          (await api.admin.get('/api/v1/audit?action=attestation.pushed')).body.some(
            (e: any) => e.subject === `image:${reg.host}/team/app@${marker}`,
          ),
        90_000,
        'the marker attested',
      );
      const index = await c.tryManifest('team/app', digest.replace(':', '-'));
      for (const d of [...listed.map((x) => x.digest), index!.digest]) {
        const rows = (await api.admin.get(`/api/v1/images?digest=${d}`)).body.items;
        assert.deepEqual(rows, [], `no image row for the artifact ${d}`);
        const jobs = server.log.split('\n').filter((l) => l.includes('job started') && l.includes(d));
        assert.deepEqual(jobs, [], `no job for the artifact ${d}`);
      }
    } finally {
      await c.close();
    }
  });

  it('a developer token cannot make the server sign: the key endpoint is read-only and nothing else signs', async () => {
    // A request for approval changes no decision: nothing is pushed for it.
    const before = (await api.admin.get('/api/v1/audit?action=attestation.pushed')).body.length;
    const r = await api.dev.post('/api/v1/approvals', {
      image: image(),
      environment: 'production',
      decision: 'approve',
      reason: 'let me in',
    });
    assert.equal(r.status, 403);
    assert.equal(
      (await api.dev.post('/api/v1/registries', { url: `http://${reg.host}`, attest: true })).status,
      403,
    );
    assert.equal((await api.admin.get('/api/v1/audit?action=attestation.pushed')).body.length, before);
    const p = await productionVerdict();
    assert.equal(p.allowed, false);
    // No attestation tag for a digest the registry does not hold.
    const c = client();
    assert.equal(await c.tryManifest('team/app', attestationTag(`sha256:${'0'.repeat(64)}`)), undefined);
    await c.close();
  });
  it('GET /images/{digest}/vex: OpenVEX of the exceptions in force, signed on request; customs image --vex-key applies only what verifies', async () => {
    const muslImage = `${reg.host}/team/musl@${musl}`;
    await waitFor(
      async () =>
        (await api.admin.get(`/api/v1/images?digest=${musl}`)).body.items?.some(
          (i: any) => i.status === 'scanned',
        ),
      90_000,
      `a scan of ${musl}`,
    );
    assert.equal((await api.dev.get(`/api/v1/images/${musl}/vex`)).status, 404, 'nothing to state yet');
    // A developer's exception for staging alone is in force there at once: an unsigned VEX of
    // staging states it, and a signed VEX (which carries no environment) may not.
    const staging = await api.dev.post('/api/v1/exceptions', {
      vulnerability: 'CVE-2019-14697',
      digest: musl,
      environments: ['staging'],
      reason: 'staging only',
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    assert.equal(staging.body.state, 'active');
    const stagingVex = await api.dev.get(`/api/v1/images/${musl}/vex?environment=staging`);
    assert.equal(stagingVex.status, 200);
    assert.deepEqual(schemaErrors2020('openvex', stagingVex.body), []);
    const refused = await api.dev.get(`/api/v1/images/${musl}/vex?environment=staging&signed=1`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /a signed VEX speaks for every environment/);
    assert.equal(
      (await api.dev.get(`/api/v1/images/${musl}/vex`)).status,
      404,
      'nothing holds everywhere yet',
    );
    // One for every environment needs production's sign-off before it says anything.
    const ex = await api.dev.post('/api/v1/exceptions', {
      vulnerability: 'CVE-2019-14697',
      package: 'pkg:apk/alpine/musl',
      digest: musl,
      reason: 'musl is not reachable from the entrypoint',
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    });
    assert.equal(ex.status, 201, JSON.stringify(ex.body));
    assert.equal(ex.body.state, 'pending');
    assert.equal((await api.dev.get(`/api/v1/images/${musl}/vex`)).status, 404);
    const off = await api.admin.post(`/api/v1/exceptions/${ex.body.id}/approve`, {});
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const plain = await api.dev.get(`/api/v1/images/${musl}/vex`);
    assert.equal(plain.status, 200);
    assert.deepEqual(schemaErrors2020('openvex', plain.body), []);
    assert.equal(plain.body.statements.length, 1);
    assert.equal(plain.body.statements[0].vulnerability.name, 'CVE-2019-14697');
    assert.equal(plain.body.statements[0].status, 'not_affected');
    assert.match(plain.body.statements[0].products[0]['@id'], new RegExp(musl.replace(':', '%3A')));

    // Signing is a sign-off: the developer may read the VEX, an approver has it signed.
    const devSigned = await api.dev.get(`/api/v1/images/${musl}/vex?signed=1`);
    assert.equal(devSigned.status, 403);
    assert.match(devSigned.body.error.message, /needs the approve permission/);
    const signedRes = await api.prod.get(`/api/v1/images/${musl}/vex?signed=1`);
    assert.equal(signedRes.status, 200);
    const viaAccept = await fetch(`${server.url}/api/v1/images/${musl}/vex`, {
      headers: { authorization: `Bearer ${tok.prod}`, accept: 'application/vnd.dsse.envelope+json' },
    });
    assert.match(viaAccept.headers.get('content-type') ?? '', /dsse/);
    const envelope = typeof signedRes.body === 'string' ? signedRes.body : JSON.stringify(signedRes.body);
    const files = {
      signed: join(tmp, 'musl.vex.dsse.json'),
      plain: join(tmp, 'musl.vex.json'),
      other: join(tmp, 'other.pub'),
    };
    writeFileSync(files.signed, envelope);
    writeFileSync(files.plain, JSON.stringify(plain.body));
    writeFileSync(
      files.other,
      (await import('node:crypto'))
        .generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
    );
    const scan = (target: string, extra: string[]) =>
      customsAsync(['image', target, '--insecure', '--format', 'json', '-q', ...extra], { env: cliEnv });

    const base = await scan(muslImage, []);
    assert.equal(base.status, 0, base.stderr);
    assert.ok(JSON.parse(base.stdout).findings.some((f: any) => f.id === 'CVE-2019-14697'));
    const ok = await scan(muslImage, ['--vex', files.signed, '--vex-key', keyFile]);
    assert.equal(ok.status, 0, ok.stderr);
    const r = JSON.parse(ok.stdout);
    assert.ok(!r.findings.some((f: any) => f.id === 'CVE-2019-14697'));
    assert.equal(r.suppressed.find((f: any) => f.id === 'CVE-2019-14697').suppression.by, 'vex');

    const wrongKey = await scan(muslImage, ['--vex', files.signed, '--vex-key', files.other]);
    assert.equal(wrongKey.status, 1, wrongKey.stderr);
    assert.match(wrongKey.stderr, /the VEX signature does not verify with --vex-key/);
    const unsigned = await scan(muslImage, ['--vex', files.plain, '--vex-key', keyFile]);
    assert.equal(unsigned.status, 1, unsigned.stderr);
    assert.match(unsigned.stderr, /not signed: with --vex-key, a VEX document must be a DSSE envelope/);
    const noKey = await scan(muslImage, ['--vex', files.signed]);
    assert.equal(noKey.status, 1, noKey.stderr);
    assert.match(noKey.stderr, /a signed VEX \(DSSE envelope\): give --vex-key/);
    // Signed for the musl image: it does not speak for another one.
    const elsewhere = await scan(image(), ['--vex', files.signed, '--vex-key', keyFile]);
    assert.equal(elsewhere.status, 1, elsewhere.stderr);
    assert.match(elsewhere.stderr, /the signed VEX is about sha256:\w+, not the image scanned/);

    // From a URL: fetched with a byte cap and a deadline, then checked the same way.
    const hs = createServer((req, res) => {
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(Buffer.alloc(17 * 1024 * 1024, 32));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(files.signed));
    });
    await new Promise<void>((done) => hs.listen(0, '127.0.0.1', done));
    const at = `http://127.0.0.1:${(hs.address() as any).port}`;
    try {
      const url = await scan(muslImage, ['--vex', `${at}/vex`, '--vex-key', keyFile]);
      assert.equal(url.status, 0, url.stderr);
      assert.ok(!JSON.parse(url.stdout).findings.some((f: any) => f.id === 'CVE-2019-14697'));
      const huge = await scan(muslImage, ['--vex', `${at}/huge`, '--vex-key', keyFile]);
      assert.equal(huge.status, 1, huge.stderr);
      assert.match(huge.stderr, /a VEX document may be at most 16777216 bytes/);
    } finally {
      hs.close();
    }

    // The VEX rides beside the image too (registries that attest): attached once the exception
    // holds everywhere, re-attached without it once it is revoked.
    const vexBeside = async (): Promise<any> => {
      const c = client();
      try {
        const found = await fetchAttestations(c, 'team/musl', musl);
        return found.envelopes
          .map((e) => statementOf(e.envelope))
          .find((st) => st?.predicateType === 'https://openvex.dev/ns');
      } finally {
        await c.close();
      }
    };
    await waitFor(async () => !!(await vexBeside()), 60_000, 'the VEX attestation');
    const attached = await vexBeside();
    assert.equal(attached.subject[0].digest.sha256, musl.slice(7));
    assert.deepEqual(schemaErrors2020('openvex', attached.predicate), []);
    assert.deepEqual(
      attached.predicate.statements.map((x: any) => [x.vulnerability.name, x.status]),
      [['CVE-2019-14697', 'not_affected']],
    );
    const c = client();
    const refs = JSON.parse(
      (await c.tryManifest('team/musl', musl.replace(':', '-')))!.body.toString('utf8'),
    );
    await c.close();
    assert.ok(
      refs.manifests.some(
        (d: any) => d.annotations['in-toto.io/predicate-type'] === 'https://openvex.dev/ns',
      ),
      'and as a referrer',
    );
    const revoked = await api.admin.post(`/api/v1/exceptions/${ex.body.id}/revoke`, {
      reason: 'reachable after all',
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    await waitFor(async () => !(await vexBeside()), 60_000, 'the VEX withdrawn');
  });
});

for (const engine of ['sqlite', 'postgres'] as const) {
  const dbName = `customs_attest_${process.pid}_${randomBytes(3).toString('hex')}`;
  // Once more on a refusal: a first connection on a busy machine can miss pgQuery's 3 s timeout.
  const create = () => pgQuery(`create database ${dbName}`);
  const pgReady = engine === 'postgres' && !skip ? (await create()) || (await create()) : true;
  const skipHere = skip || (!pgReady && !process.env.CI ? 'no PostgreSQL at 127.0.0.1:5432' : false);
  describe(
    `what the attestation job signs, read from the store alone (${engine})`,
    { skip: skipHere, timeout: 120_000 },
    () => {
      let tmp: string;
      let reg: Registry;
      let db: Db;
      let deps: AttestDeps;
      let digest: string;
      const policy: Policy = { environments: { production: { rules: [] }, staging: { rules: [] } } };

      before(async () => {
        tmp = mkdtempSync(join(tmpdir(), 'customs-attest-job-'));
        reg = new Registry(join(tmp, 'registry'), await freePort());
        await reg.start();
        db = await openDb({
          database:
            engine === 'postgres' ? PG_ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`) : join(tmp, 's.sqlite'),
        });
        const box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
        db.signer = await loadSigner(db, box);
        deps = { db, box, policy };
        await upsertRegistry(db, box, { url: `http://${reg.host}`, insecure: true, attest: true });
        const dir = join(tmp, 'layout');
        digest = ociLayout(dir, {
          layers: [await makeTar([{ name: 'etc/marker', content: 'reported' }])],
          tag: 'latest',
        }).manifestDigest;
        skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:1.0`);
      });
      after(async () => {
        await db?.close();
        if (engine === 'postgres') await pgQuery(`drop database if exists ${dbName}`);
        await reg?.stop();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      it('a CI report gets no signed scan, and verdicts exactly as the gate decides (not verified in production)', async () => {
        // A report names the image under its real repository and under a decoy that does not hold it.
        for (const repository of ['team/app', 'team/decoy'])
          await recordImage(db, { registry: reg.host, repository, digest });
        await saveScan(db, {
          digest,
          dbVersion: 'v1',
          source: 'ci',
          durationMs: 1,
          provenance: { kind: 'reported', by: 'token:dev#3', at: new Date().toISOString() },
          result: {
            image: { name: 'app', attestations: [] },
            findings: [],
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
        const r = await attestImage(deps, digest, 3600);
        assert.deepEqual(r.pushed, [
          {
            place: `${reg.host}/team/app`,
            verdicts: { production: 'not-verified', staging: 'auto-approved', dev: 'auto-approved' },
            vuln: false,
          },
        ]);
        assert.deepEqual(r.skipped, [
          { place: `${reg.host}/team/decoy`, reason: `${reg.host}/team/decoy does not hold ${digest}` },
        ]);
        const c = new RegistryClient(reg.host, { insecure: true });
        const found = await fetchAttestations(c, 'team/app', digest);
        assert.equal(await c.tryManifest('team/decoy', attestationTag(digest)), undefined);
        await c.close();
        const types = found.envelopes.map((e) => statementOf(e.envelope)?.predicateType);
        assert.ok(
          !types.includes('https://cosign.sigstore.dev/attestation/vuln/v1'),
          'no scan the server did not make',
        );
        // Asked again with nothing changed: the registry is not written again.
        const again = await attestImage(deps, digest, 3600);
        assert.equal(again.pushed.length, 0);
        assert.match(again.skipped[0].reason, /unchanged since/);
      });

      it('an invented digest is never signed', async () => {
        const invented = `sha256:${'e'.repeat(64)}`;
        await recordImage(db, { registry: reg.host, repository: 'team/app', digest: invented });
        const r = await attestImage(deps, invented, 3600);
        assert.equal(r.pushed.length, 0);
        assert.match(r.skipped[0].reason, /does not hold/);
      });
    },
  );
}
