/* eslint-disable @typescript-eslint/no-explicit-any -- API answers are checked against the OpenAPI document, not typed here */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import fastJsonPatch from 'fast-json-patch';
import { FIXABLE_RULE, importAlpineDb } from '../helpers/gate-setup.js';
import { cosignSign, pushReferrer } from '../helpers/cosign.js';
import { TestSigstore } from '../helpers/sigstore.js';
import { alpineMuslLayer, makeTar, ociLayout } from '../helpers/image-writer.js';
import { freePort, notifyCustoms, Registry, skopeoCopy } from '../helpers/registry.js';
import { customsAsync, has } from '../helpers/run.js';
import { selfSigned } from '../helpers/tls.js';
import { schemaErrors2020 } from '../helpers/schemas.js';
import {
  Api,
  CustomsProcess,
  CustomsServer,
  makeToken,
  waitFor,
  webhookReceiver,
} from '../helpers/server.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// The production gate end to end: images pushed by skopeo to Debian's docker-registry and scanned on
// push; approvals by role through the API and the built CLI; cosign signatures made by the test;
// AdmissionReview requests shaped like the Kubernetes API server's; exceptions with expiry and the
// alert before it; the hash-chained audit log, then a hand-edited row. Every API answer is checked
// against the server's OpenAPI document. On SQLite and on PostgreSQL.
const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

const { applyPatch } = fastJsonPatch;

let tmp: string;
let store: TestStore;
let reg: Registry;
let quiet: Registry;
let server: CustomsServer;
const api: Record<string, Api> = {};
const tok: Record<string, string> = {};
const digest: Record<string, string> = {};
let receiver: { bodies: any[]; close: () => void; url: string };

// Production refuses any fixable vulnerability; staging too, but it approves by itself what passes.
const POLICY = {
  environments: {
    production: {
      rules: [FIXABLE_RULE, { id: 'no-secrets', check: 'no-secrets', severity: 'CRITICAL' }],
    },
    staging: { rules: [FIXABLE_RULE] },
    dev: { rules: [] },
  },
};

async function push(name: string, layers: Buffer[], to: Registry, ref: string): Promise<string> {
  const dir = join(tmp, 'layouts', name);
  const { manifestDigest } = ociLayout(dir, { layers, tag: 'latest' });
  skopeoCopy(`oci:${dir}:latest`, `docker://${to.host}/${ref}`);
  return manifestDigest;
}

async function scanned(d: string, ms = 60_000): Promise<void> {
  await waitFor(
    async () =>
      (await api.admin.get(`/api/v1/images?digest=${d}`)).body.items?.some(
        (i: any) => i.status === 'scanned',
      ),
    ms,
    `a scan of ${d}\n${server.log.slice(-3000)}`,
  );
}

/** An AdmissionReview as the API server sends it. */
function review(kind: string, namespace: string, object: object, operation = 'CREATE') {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: kind === 'Pod' ? '' : kind === 'CronJob' ? 'batch' : 'apps', version: 'v1', kind },
      resource: { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` },
      namespace,
      operation,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object,
      dryRun: false,
    },
  };
}
const pod = (name: string, images: string[], init: string[] = []) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: name } },
  spec: {
    initContainers: init.map((image, i) => ({ name: `init-${i}`, image })),
    containers: images.map((image, i) => ({ name: `c-${i}`, image })),
  },
});

async function admit(body: object, as = api.webhook): Promise<any> {
  const r = await as.post('/admission/validate', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'AdmissionReview');
  assert.equal(r.body.response.uid, (body as any).request.uid);
  return r.body.response;
}

const approve = (as: string, image: string, environment: string, decision: string, reason = 'test') =>
  api[as].post('/api/v1/approvals', { image, environment, decision, reason });

const keyPem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

describeStores(
  'the production gate: approvals, signatures, admission, exceptions, audit',
  { skip, timeout: 300_000 },
  (engine) => {
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-gate-'));
      store = await freshStore(engine, join(tmp, 'data'), 'gate');
      const vulndb = join(tmp, 'vuln.db');
      importAlpineDb(vulndb);
      const policy = join(tmp, 'policy.yaml');
      writeFileSync(policy, YAML.stringify(POLICY));
      const port = await freePort();
      tok.hook = makeToken(store.args, 'webhook', ['--name', 'registry']);
      tok.admin = makeToken(store.args, 'admin', ['--name', 'admin']);
      tok.dev = makeToken(store.args, 'developer', ['--name', 'dev']);
      tok.viewer = makeToken(store.args, 'viewer', ['--name', 'viewer']);
      tok.prod = makeToken(store.args, 'approver', [
        '--name',
        'approver-prod',
        '--environments',
        'production',
      ]);
      tok.prod2 = makeToken(store.args, 'approver', [
        '--name',
        'approver-prod-2',
        '--environments',
        'production',
      ]);
      tok.staging = makeToken(store.args, 'approver', [
        '--name',
        'approver-staging',
        '--environments',
        'staging',
      ]);
      tok.webhook = makeToken(store.args, 'admission', ['--name', 'kube-apiserver']);
      reg = new Registry(join(tmp, 'registry'), await freePort(), '', notifyCustoms(port, tok.hook, 5));
      await reg.start();
      quiet = new Registry(join(tmp, 'quiet'), await freePort());
      await quiet.start();
      server = new CustomsServer(
        port,
        [...store.args, '--db', vulndb, '--workers', '2', '--policy', policy, '--gate-interval', '1'],
        { CUSTOMS_ALERT_RETRY_MS: '100' },
      );
      await server.start();
      for (const [k, t] of Object.entries(tok)) api[k] = new Api(server.url, t);
      for (const r of [reg, quiet])
        assert.equal(
          (await api.admin.post('/api/v1/registries', { url: `http://${r.host}`, insecure: true })).status,
          201,
        );

      receiver = await webhookReceiver();
      assert.equal(
        (await api.admin.post('/api/v1/channels', { type: 'webhook', url: receiver.url })).status,
        201,
      );

      digest.clean = await push(
        'clean',
        [await makeTar([{ name: 'etc/marker', content: 'clean' }])],
        reg,
        'team/clean:1.0',
      );
      digest.musl = await push('musl', [await alpineMuslLayer()], reg, 'team/musl:1.0');
      digest.unknown = await push(
        'unknown',
        [await makeTar([{ name: 'etc/marker', content: 'unknown' }])],
        quiet,
        'org/unknown:1.0',
      );
      await scanned(digest.clean);
      await scanned(digest.musl);
    });
    after(async () => {
      await server?.stop();
      await reg?.stop();
      await quiet?.stop();
      receiver?.close();
      await store?.drop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    const clean = () => `${reg.host}/team/clean@${digest.clean}`;
    const musl = () => `${reg.host}/team/musl@${digest.musl}`;

    it('approvals follow roles, environments and four eyes', async () => {
      assert.equal(
        (await api.admin.put('/api/v1/environments/production/gate', { fourEyes: true })).status,
        200,
      );
      assert.equal(
        (await api.dev.put('/api/v1/environments/production/gate', { fourEyes: false })).status,
        403,
      );

      let r = await approve('dev', clean(), 'production', 'approve');
      assert.equal(r.status, 403);
      assert.match(r.body.error.message, /may not approve/);
      r = await approve('staging', clean(), 'production', 'approve');
      assert.equal(r.status, 403);
      assert.match(r.body.error.message, /staging, not production/);
      r = await approve('prod', clean(), 'production', 'approve');
      assert.equal(r.status, 403, 'four eyes: an approval needs a request by someone else');
      assert.match(r.body.error.message, /four eyes/);
      assert.equal(
        (
          await api.viewer.post('/api/v1/approvals', {
            image: clean(),
            environment: 'production',
            decision: 'request',
            reason: 'x',
          })
        ).status,
        403,
      );

      r = await approve('dev', `${reg.host}/team/clean:1.0`, 'production', 'request', 'release 1.0');
      assert.equal(r.status, 200);
      assert.equal(r.body.state, 'requested');
      assert.equal(r.body.digest, digest.clean, 'the tag was resolved to its digest');
      const cli = await customsAsync([
        'approve',
        clean(),
        '--env',
        'production',
        '--reason',
        'release 1.0 reviewed',
        '--server',
        server.url,
        '--token',
        tok.prod,
      ]);
      assert.equal(cli.status, 0, cli.stderr);
      // People, not tokens: the person who issued the token (here, whoever ran the tests).
      assert.match(
        cli.stdout,
        new RegExp(`approved for production by ${userInfo().username} \\(token approver-prod\\)`),
      );

      // Four eyes: the same person may not request and approve.
      assert.equal((await approve('prod', musl(), 'production', 'request')).status, 200);
      r = await approve('prod', musl(), 'production', 'approve');
      assert.equal(r.status, 403);
      assert.match(r.body.error.message, /requester may not approve/);

      const list = (await api.viewer.get('/api/v1/approvals?environment=production')).body;
      const c = list.find((a: any) => a.digest === digest.clean);
      assert.equal(c.state, 'approved');
      assert.match(c.requestedBy, /^token:dev#/);
      assert.match(c.decidedBy, /^token:approver-prod#/);
      assert.equal(c.decidedByName, `${userInfo().username} (token approver-prod)`);
      assert.deepEqual(c.acceptedFailures, []);
      assert.equal((await api.viewer.get('/api/v1/approvals?state=requested')).body[0].digest, digest.musl);
    });

    it('admission decides from stored state, resolves tags and records what it admits', async () => {
      let res = await admit(review('Pod', 'production', pod('web', [`${reg.host}/team/clean:1.0`])));
      assert.equal(res.allowed, true, JSON.stringify(res));
      const running = (await api.viewer.get('/api/v1/environments/production')).body;
      assert.ok(JSON.stringify(running).includes(digest.clean), 'the admitted image is recorded as deployed');

      // A Deployment whose init container runs the vulnerable image: denied, naming it and why.
      const dep = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'api' },
        spec: { template: { spec: pod('api', [clean()], [`${reg.host}/team/musl:1.0`]).spec } },
      };
      res = await admit(review('Deployment', 'production', dep));
      assert.equal(res.allowed, false);
      assert.equal(res.status.code, 403);
      assert.match(res.status.message, /team\/musl:1\.0/);
      assert.match(res.status.message, /fails the production policy/);
      assert.match(res.status.message, /CVE-2019-14697/);

      const cron = {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'nightly' },
        spec: { jobTemplate: { spec: { template: { spec: pod('n', [clean()]).spec } } } },
      };
      assert.equal((await admit(review('CronJob', 'production', cron))).allowed, true);

      // Revoked: the decision flips at once; approved again (four eyes): it flips back.
      assert.equal((await approve('prod2', clean(), 'production', 'revoke', 'regression found')).status, 200);
      res = await admit(review('Pod', 'production', pod('web', [clean()])));
      assert.equal(res.allowed, false);
      assert.match(res.status.message, /revoked by token:approver-prod-2/);
      assert.equal((await approve('dev', clean(), 'production', 'request', 'fixed')).status, 200);
      assert.equal((await approve('prod2', clean(), 'production', 'approve', 'ok again')).status, 200);
      assert.equal((await admit(review('Pod', 'production', pod('web', [clean()])))).allowed, true);

      // Unknown to the server: production denies it and queues a scan; dev admits it with a warning.
      const unknown = `${quiet.host}/org/unknown:1.0`;
      res = await admit(review('Pod', 'production', pod('u', [unknown])));
      assert.equal(res.allowed, false);
      assert.match(res.status.message, /not scanned yet/);
      res = await admit(review('Pod', 'dev', pod('u', [unknown])));
      assert.equal(res.allowed, true);
      assert.match(res.warnings.join(' '), /not scanned yet; queued/);
      await scanned(digest.unknown);

      // A namespace mapped to staging is judged by staging's policy.
      assert.equal(
        (await api.admin.put('/api/v1/environments/staging/gate', { namespaces: ['team-a'] })).status,
        200,
      );
      res = await admit(review('Pod', 'team-a', pod('m', [musl()])));
      assert.equal(res.allowed, false);
      assert.match(res.status.message, /in staging: fails the staging policy/);
      assert.equal(
        (await admit(review('Pod', 'team-a', pod('c', [clean()])))).allowed,
        true,
        'staging approves what passes',
      );
      res = await admit(review('Pod', 'kube-system', pod('dns', [musl()])));
      assert.equal(res.allowed, true);
      assert.match(res.warnings[0], /maps to no environment/);
      assert.equal((await admit(review('Pod', 'production', pod('web', [musl()]), 'DELETE'))).allowed, true);

      // Only the API server's token (admission permission) may ask.
      assert.equal(
        (
          await new Api(server.url).post(
            '/admission/validate',
            review('Pod', 'production', pod('x', [clean()])),
          )
        ).status,
        401,
      );
      assert.equal(
        (await api.dev.post('/admission/validate', review('Pod', 'production', pod('x', [clean()])))).status,
        403,
      );
    });

    it('the mutating webhook pins images named by tag to the digest decided on; requireDigest refuses tags', async () => {
      const tag = `${reg.host}/team/clean:1.0`;
      const p = pod('web', [tag, clean()], [tag]);
      const mutate = async (o: object, ns = 'production') => {
        const r = await api.webhook.post('/admission/mutate', review('Pod', ns, o));
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.response;
      };
      let res = await mutate(p);
      assert.equal(res.allowed, true, JSON.stringify(res));
      assert.equal(res.patchType, 'JSONPatch');
      const ops = JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8'));
      const out = applyPatch(structuredClone(p), ops, true, false).newDocument as any;
      assert.deepEqual(
        [...out.spec.initContainers, ...out.spec.containers].map((c: any) => c.image),
        [clean(), clean(), clean()],
        'every tag became the digest admission decided on; the digest reference is left alone',
      );
      assert.equal((await admit(review('Pod', 'production', out))).allowed, true, 'the pinned Pod validates');
      // Denied: no patch, the same reasons as the validating webhook.
      res = await mutate(pod('api', [`${reg.host}/team/musl:1.0`]));
      assert.equal(res.allowed, false);
      assert.equal(res.patch, undefined);
      assert.match(res.status.message, /fails the production policy/);
      // Only the API server's token may ask here too.
      assert.equal(
        (await new Api(server.url).post('/admission/mutate', review('Pod', 'production', p))).status,
        401,
      );

      // staging (namespace team-a) takes digests only: a tag is refused by both webhooks, with why.
      assert.equal(
        (await api.admin.put('/api/v1/environments/staging/gate', { requireDigest: true })).status,
        200,
      );
      for (const r of [
        await admit(review('Pod', 'team-a', pod('c', [tag]))),
        await mutate(pod('c', [tag]), 'team-a'),
      ]) {
        assert.equal(r.allowed, false);
        assert.match(r.status.message, /team\/clean:1\.0: staging admits images by digest only/);
      }
      assert.equal((await admit(review('Pod', 'team-a', pod('c', [clean()])))).allowed, true);
      assert.equal(
        (await api.admin.put('/api/v1/environments/staging/gate', { requireDigest: false })).status,
        200,
      );
    });

    it('signatures: only a trusted key signing this very digest counts', async () => {
      const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const ed = generateKeyPairSync('ed25519');
      const pubFile = join(tmp, 'cosign.pub');
      writeFileSync(pubFile, keyPem(trusted.publicKey));
      const r = await api.admin.put('/api/v1/environments/production/gate', {
        requireSignature: true,
        trust: { keys: [keyPem(trusted.publicKey), keyPem(ed.publicKey)] },
      });
      assert.equal(r.status, 200);
      assert.equal(
        (await api.admin.put('/api/v1/environments/production/gate', { trust: { keys: ['not a key'] } }))
          .status,
        400,
      );

      let res = await admit(review('Pod', 'production', pod('web', [clean()])));
      assert.equal(res.allowed, false);
      assert.match(res.status.message, /not trusted: its signature has not been checked yet/);
      // Admission never waits for the registry: it checks in the background; the next request knows.
      await waitFor(
        async () =>
          /not trusted: unsigned/.test(
            (await admit(review('Pod', 'production', pod('web', [clean()])))).status?.message ?? '',
          ),
        10_000,
        'the background signature check',
      );
      const verify = async (d: string) =>
        (await api.dev.post(`/api/v1/images/${d}/verify`, { environment: 'production' })).body;
      assert.match((await verify(digest.clean)).reason, /^unsigned/);

      await cosignSign(reg.host, 'team/clean', digest.clean, stranger.privateKey);
      let v = await verify(digest.clean);
      assert.equal(v.trusted, false);
      assert.match(v.reason, /signed by no trusted key/);
      let cli = await customsAsync(['verify', clean(), '--key', pubFile, '--insecure']);
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(cli.stdout, /NOT trusted/);

      // A trusted key's signature copied from another image, and a payload altered after signing.
      await cosignSign(reg.host, 'team/musl', digest.musl, trusted.privateKey, {
        payloadDigest: digest.clean,
      });
      v = await verify(digest.musl);
      assert.equal(v.trusted, false);
      assert.match(v.reason, new RegExp(`signs ${digest.clean}, not this image`));
      await cosignSign(quiet.host, 'org/unknown', digest.unknown, trusted.privateKey, { tamper: true });
      v = await verify(digest.unknown);
      assert.equal(v.trusted, false);
      assert.match(v.reason, /payload was altered/);

      // Signed by the trusted key as an OCI referrer: trusted, and admission lets it in.
      await cosignSign(reg.host, 'team/clean', digest.clean, trusted.privateKey, { asReferrer: true });
      v = await verify(digest.clean);
      assert.equal(v.trusted, true, v.reason);
      cli = await customsAsync(['verify', `${reg.host}/team/clean:1.0`, '--key', pubFile, '--insecure']);
      assert.equal(cli.status, 0, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /trusted — signed by trusted key/);
      res = await admit(review('Pod', 'production', pod('web', [clean()])));
      assert.equal(res.allowed, true, JSON.stringify(res));

      // The same check as a policy rule of `customs policy check` (keys named by the policy file).
      const policyFile = join(tmp, 'signed-policy.yaml');
      writeFileSync(
        policyFile,
        YAML.stringify({
          environments: {
            production: {
              rules: [
                { id: 'signed', check: 'signed-by', severity: 'CRITICAL', with: { keys: ['cosign.pub'] } },
              ],
            },
          },
        }),
      );
      const check = (ref: string) =>
        customsAsync(
          [
            'policy',
            'check',
            `registry:${ref}`,
            '--policy',
            policyFile,
            '--env',
            'production',
            '--insecure',
            '-f',
            'json',
            '-q',
          ],
          { env: { CUSTOMS_DB: join(tmp, 'vuln.db') } },
        );
      cli = await check(clean());
      assert.equal(cli.status, 0, cli.stdout + cli.stderr);
      cli = await check(musl());
      assert.equal(cli.status, 1, cli.stdout + cli.stderr);
      assert.match(JSON.parse(cli.stdout).rules[0].offending[0], /not this image/);

      // Ed25519 keys work too (cosign's tag scheme, replacing the copied signature).
      await cosignSign(reg.host, 'team/musl', digest.musl, ed.privateKey);
      assert.equal((await verify(digest.musl)).trusted, true);

      // Keyless: a Sigstore bundle pushed as a referrer, checked against a trusted root and an identity.
      const sigstore = new TestSigstore(mkdtempSync(join(tmp, 'sigstore-')));
      const rootFile = join(tmp, 'trusted_root.json');
      writeFileSync(rootFile, sigstore.trustedRoot());
      const workflow = 'https://github.com/org/app/.github/workflows/release.yml@refs/heads/main';
      const actions = 'https://token.actions.githubusercontent.com';
      const bundleType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
      await pushReferrer(quiet.host, 'org/unknown', digest.unknown, bundleType, {
        mediaType: bundleType,
        content: sigstore.bundle(digest.unknown, workflow, actions),
      });
      const keyless = (identity: string) =>
        customsAsync([
          'verify',
          `${quiet.host}/org/unknown@${digest.unknown}`,
          '--certificate-identity',
          identity,
          '--certificate-oidc-issuer',
          actions,
          '--trusted-root',
          rootFile,
          '--insecure',
        ]);
      cli = await keyless('https://github.com/org/*');
      assert.equal(cli.status, 0, cli.stdout + cli.stderr);
      assert.match(
        cli.stdout,
        new RegExp(`trusted — signed by identity ${workflow.replace(/[.?*]/g, '\\$&')}`),
      );
      cli = await keyless('https://github.com/other/*');
      assert.equal(cli.status, 1, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /not an allowed identity/);
      assert.equal(
        (
          await api.admin.put('/api/v1/environments/production/gate', {
            requireSignature: false,
            trust: {
              identities: [{ subject: 'https://github.com/org/*', issuer: actions }],
              trustedRoot: sigstore.trustedRoot(),
            },
          })
        ).status,
        200,
      );
      v = await verify(digest.unknown);
      assert.equal(v.trusted, true, v.reason);
      assert.match(v.reason, /signed by identity https:\/\/github.com\/org\/app/);
    });

    it('exceptions: sign-off, suppression, the alert before expiry, expiry, export', async () => {
      const decision = async (env: string) =>
        (await api.viewer.get(`/api/v1/images/${digest.musl}/decision?environment=${env}`)).body;
      assert.equal((await decision('staging')).status, 'policy-failed');
      const expiresAt = new Date(Date.now() + 12_000).toISOString();
      let r = await api.dev.post('/api/v1/exceptions', {
        vulnerability: 'CVE-2019-14697',
        package: 'musl',
        environments: ['production', 'staging'],
        reason: 'musl is only used by a health probe that never parses untrusted input',
        expiresAt,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.state, 'pending', 'production asks for an approver to sign it off');
      const id = r.body.id;
      assert.equal((await decision('staging')).status, 'policy-failed', 'a pending exception does not apply');
      r = await api.staging.post(`/api/v1/exceptions/${id}/approve`, {});
      assert.equal(r.status, 403);
      assert.match(r.body.error.message, /approver for production/);
      assert.equal((await api.dev.post(`/api/v1/exceptions/${id}/approve`, {})).status, 403);
      r = await api.prod.post(`/api/v1/exceptions/${id}/approve`, {});
      assert.equal(r.status, 200);
      assert.equal(r.body.state, 'active');

      let d = await decision('staging');
      assert.equal(d.status, 'auto-approved', JSON.stringify(d));
      assert.equal(d.suppressed, 1);
      assert.equal((await decision('production')).status, 'pending', 'production still wants a person');

      // Exported as the ignore file and as OpenVEX (valid against the official schema).
      const ign = await api.viewer.get('/api/v1/exceptions/export?format=customsignore');
      assert.equal(ign.status, 200);
      const parsed = YAML.parse(ign.body);
      assert.equal(parsed.ignores[0].id, 'CVE-2019-14697');
      assert.equal(parsed.ignores[0].package, 'musl');
      const vex = await api.viewer.get('/api/v1/exceptions/export?format=openvex');
      assert.deepEqual(schemaErrors2020('openvex', vex.body), []);
      assert.equal(vex.body.statements[0].vulnerability.name, 'CVE-2019-14697');
      assert.equal(vex.body.statements[0].status, 'not_affected');

      // The alert that it expires soon reaches the channel (once per environment it covers).
      await waitFor(
        () => receiver.bodies.filter((b) => b.kind === 'exception-expiry').length >= 2,
        15_000,
        `expiry alerts\n${server.log.slice(-2000)}`,
      );
      const alert = receiver.bodies.find((b) => b.kind === 'exception-expiry');
      assert.match(alert.summary, /Exception \d+ for CVE-2019-14697 in musl .* expires/);

      // Expired: the finding counts again and staging refuses the image.
      await waitFor(
        async () => (await decision('staging')).status === 'policy-failed',
        30_000,
        'the exception to expire',
      );
      d = await decision('staging');
      assert.equal(d.suppressed, 0);
      assert.ok(d.policy.failures.some((f: string) => f.includes('CVE-2019-14697')));
      assert.equal((await api.viewer.get('/api/v1/exceptions?state=expired')).body[0].id, id);

      // A waived policy rule for one repository, withdrawn by its author.
      r = await api.dev.post('/api/v1/exceptions', {
        rule: 'no-fixable-vulnerabilities',
        repository: `${reg.host}/team/musl`,
        environments: ['staging'],
        reason: 'migration to the fixed base image is scheduled for next sprint',
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      });
      assert.equal(r.body.state, 'active', 'staging needs no sign-off');
      d = await decision('staging');
      assert.equal(d.allowed, true);
      assert.deepEqual(d.policy.waivedRules, ['no-fixable-vulnerabilities']);
      assert.equal(
        (await api.viewer.post(`/api/v1/exceptions/${r.body.id}/revoke`, { reason: 'x' })).status,
        403,
      );
      assert.equal(
        (await api.dev.post(`/api/v1/exceptions/${r.body.id}/revoke`, { reason: 'done early' })).status,
        200,
      );
      assert.equal((await decision('staging')).allowed, false);
    });

    it('the audit log holds every decision, verifies, and detects a hand-edited row', async () => {
      const u = await api.admin.post('/api/v1/users', {
        name: 'alice',
        role: 'developer',
        password: 'correct horse battery',
      });
      assert.equal(u.status, 201);
      assert.equal(
        (await api.admin.put(`/api/v1/users/${u.body.id}`, { role: 'approver', environments: ['staging'] }))
          .status,
        200,
      );
      assert.equal((await api.dev.get('/api/v1/audit')).status, 403);
      const log = (await api.prod.get('/api/v1/audit?limit=1000')).body as any[];
      const actions = new Set(log.map((e) => e.action));
      for (const a of [
        'token.create',
        'environment.gate',
        'approval.request',
        'approval.approve',
        'approval.revoke',
        'exception.create',
        'exception.approve',
        'exception.revoke',
        'user.create',
        'user.role',
      ])
        assert.ok(actions.has(a), `${a} is audited`);
      const approval = log.find(
        (e) =>
          e.action === 'approval.approve' &&
          e.subject === `production/${digest.clean}` &&
          /^token:approver-prod#/.test(e.actor),
      );
      assert.equal(approval.details.reason, 'release 1.0 reviewed');
      assert.equal(
        (await api.prod.get('/api/v1/audit?action=exception.')).body.every((e: any) =>
          e.action.startsWith('exception.'),
        ),
        true,
      );

      let v = (await api.prod.get('/api/v1/audit/verify')).body;
      assert.equal(v.ok, true);
      assert.equal(v.entries, log.length);
      assert.equal(v.head, log[0].hash);

      // Someone with database access rewrites who approved: the chain says where.
      await store.sql('update audit_log set actor = ? where seq = ?', ['user:nobody', approval.seq]);
      v = (await api.prod.get('/api/v1/audit/verify')).body;
      assert.equal(v.ok, false);
      assert.equal(v.broken.seq, approval.seq);
      assert.match(v.broken.reason, /edited/);
      const cli = await customsAsync(['server', 'audit', 'verify', ...store.args]);
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(
        cli.stdout,
        new RegExp(`BROKEN at entry ${approval.seq}: its content does not match its hash`),
      );
    });
  },
);

describe(
  'the admission webhook over TLS, as the Kubernetes API server calls it',
  { skip: has('openssl') ? false : 'openssl is needed', timeout: 60_000 },
  () => {
    // The transport alone: which store answers does not matter here, so SQLite only.
    it('serves HTTPS with --tls-cert/--tls-key and answers an AdmissionReview', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'customs-tls-'));
      let proc: CustomsProcess | undefined;
      try {
        const { cert, key } = selfSigned(dir, '/CN=customs.customs.svc', [
          'subjectAltName=DNS:customs.customs.svc,IP:127.0.0.1',
        ]);
        const data = join(dir, 'data');
        const token = makeToken(['--data', data], 'admission', ['--name', 'kube-apiserver']);
        const port = await freePort();
        proc = new CustomsProcess([
          'server',
          '--listen',
          `127.0.0.1:${port}`,
          '--data',
          data,
          '--workers',
          '0',
          '--tls-cert',
          cert,
          '--tls-key',
          key,
        ]);
        proc.start();
        await proc.waitForLog(/customs server ready/);
        const body = JSON.stringify(
          review('Pod', 'kube-system', pod('dns', ['registry.k8s.io/coredns/coredns:v1.11.1'])),
        );
        const answer = await new Promise<any>((resolve, reject) => {
          const req = httpsRequest(
            {
              host: '127.0.0.1',
              port,
              path: '/admission/validate',
              method: 'POST',
              ca: readFileSync(cert),
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            },
            (res) => {
              let raw = '';
              res.on('data', (c: Buffer) => (raw += c.toString('utf8')));
              res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(raw) }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
        assert.equal(answer.status, 200);
        assert.equal(answer.body.response.allowed, true);
        assert.match(answer.body.response.warnings[0], /maps to no environment/);
        // Plain HTTP is not served on that port.
        await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
      } finally {
        await proc?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
