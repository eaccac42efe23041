/* eslint-disable @typescript-eslint/no-explicit-any -- registry documents and JSON outputs are read loosely */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { trustedKey } from '../../src/gate/cosign.js';
import { pae, parseEnvelope, signEnvelope, verifyEnvelope } from '../../src/gate/attest/dsse.js';
import { attachAttestations, attestationTag } from '../../src/gate/attest/oci.js';
import {
  statement,
  VERDICT_PREDICATE,
  verdictPredicateType,
  VULN_PREDICATE,
  type VerdictPredicate,
} from '../../src/gate/attest/statement.js';
import { judgeEnvelope } from '../../src/gate/attest/verify.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { customs, has } from '../helpers/run.js';

const pems = (type: 'ec' | 'ed25519') => {
  const k =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('ed25519');
  return {
    priv: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pub: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    key: k.privateKey,
  };
};
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('DSSE envelopes and in-toto statements', () => {
  it('encodes PAE as the DSSE specification does', () => {
    assert.equal(
      pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
    // Lengths are in bytes, not characters.
    assert.equal(pae('t', Buffer.from('é')).toString(), 'DSSEv1 1 t 2 é');
  });

  for (const type of ['ec', 'ed25519'] as const)
    it(`signs and verifies with ${type}; a changed payload, type or key fails`, () => {
      const k = pems(type);
      const e = signEnvelope(Buffer.from('{"a":1}'), k.key, 'k1');
      const trusted = [trustedKey(k.pub)];
      assert.ok(verifyEnvelope(parseEnvelope(Buffer.from(JSON.stringify(e))), trusted).keyId);
      assert.ok(
        verifyEnvelope({ ...e, payload: Buffer.from('{"a":2}').toString('base64') }, trusted).problem,
      );
      assert.ok(verifyEnvelope({ ...e, payloadType: 'text/plain' }, trusted).problem);
      assert.ok(verifyEnvelope(e, [trustedKey(pems(type).pub)]).problem);
    });

  it('refuses malformed and oversized envelopes with a clear message', () => {
    assert.throws(() => parseEnvelope(Buffer.from('nope')), /not valid JSON/);
    assert.throws(() => parseEnvelope(Buffer.from('{"payload":"x"}')), /payloadType and payload/);
    assert.throws(
      () => parseEnvelope(Buffer.from('{"payloadType":"t","payload":"%%","signatures":[{"sig":"AA=="}]}')),
      /not base64/,
    );
    assert.throws(
      () => parseEnvelope(Buffer.from('{"payloadType":"t","payload":"","signatures":[]}')),
      /no signature/,
    );
    const many = JSON.stringify({
      payloadType: 't',
      payload: '',
      signatures: Array(17).fill({ sig: 'AA==' }),
    });
    assert.throws(() => parseEnvelope(Buffer.from(many)), /at most 16/);
    assert.throws(() => parseEnvelope(Buffer.alloc(5 * 1024 * 1024, 32)), /over the/);
  });

  it('a statement counts only for its own subject digest and predicate type', () => {
    const k = pems('ec');
    const st = statement('reg/app', DIGEST, VULN_PREDICATE, { x: 1 });
    const e = signEnvelope(Buffer.from(JSON.stringify(st)), k.key);
    const keys = [trustedKey(k.pub)];
    assert.ok(judgeEnvelope(e, DIGEST, VULN_PREDICATE, keys).statement);
    assert.match(
      judgeEnvelope(e, `sha256:${'cd'.repeat(32)}`, VULN_PREDICATE, keys).problem!,
      /another image/,
    );
    assert.match(judgeEnvelope(e, DIGEST, VERDICT_PREDICATE, keys).problem!, /predicate/);
  });
});

const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

describe('attestations beside the image in a Distribution registry', { skip }, () => {
  let tmp: string;
  let reg: Registry;
  let env: Record<string, string>;
  let archive: string;
  let digest: string;
  const ci = pems('ec');
  const other = pems('ec');
  const files: Record<string, string> = {};
  const client = () => new RegistryClient(reg.host, { insecure: true });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-attest-'));
    mkdirSync(join(tmp, 'docker'));
    env = { CUSTOMS_DB: join(tmp, 'customs.db'), DOCKER_CONFIG: join(tmp, 'docker') };
    assert.equal(customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env }).status, 0);
    const layer = gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')));
    archive = join(tmp, 'app.tar');
    writeFileSync(archive, await dockerArchive({ layers: [layer], tag: 'app:1.0' }));
    for (const [name, text] of Object.entries({
      'ci.key': ci.priv,
      'ci.pub': ci.pub,
      'other.pub': other.pub,
    })) {
      files[name] = join(tmp, name);
      writeFileSync(files[name], text);
    }
    reg = new Registry(join(tmp, 'registry'), await freePort());
    await reg.start();
    // CI: the image is pushed, then scanned from the archive it was built as, signed and attached.
    skopeoCopy(`docker-archive:${archive}`, `docker://${reg.host}/team/app:1.0`);
    skopeoCopy(`docker-archive:${archive}`, `docker://${reg.host}/team/other:1.0`, ['--format', 'oci']);
    const c = client();
    digest = (await c.manifest('team/app', '1.0')).digest;
    await c.close();
  });
  after(async () => {
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('customs image --attest signs the scan and attaches it where cosign and Kyverno look', async () => {
    const r = customs(
      [
        'image',
        archive,
        '--attest',
        '--key',
        files['ci.key'],
        '--push',
        `${reg.host}/team/app:1.0`,
        '--insecure',
        '--format',
        'json',
      ],
      { env },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`signed scan attached at ${reg.host}/team/app:${attestationTag(digest)}`),
    );
    const scan = JSON.parse(r.stdout);
    // Read back through the registry API and checked with Node's crypto alone.
    const res = await fetch(`http://${reg.host}/v2/team/app/manifests/${attestationTag(digest)}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
    const m = (await res.json()) as any;
    assert.equal(m.layers.length, 1);
    assert.equal(m.layers[0].mediaType, 'application/vnd.dsse.envelope.v1+json');
    assert.equal(m.layers[0].annotations.predicateType, VULN_PREDICATE);
    const blob = Buffer.from(
      await (await fetch(`http://${reg.host}/v2/team/app/blobs/${m.layers[0].digest}`)).arrayBuffer(),
    );
    assert.equal(`sha256:${createHash('sha256').update(blob).digest('hex')}`, m.layers[0].digest);
    const env1 = JSON.parse(blob.toString());
    const payload = Buffer.from(env1.payload, 'base64');
    const signed = Buffer.from(`DSSEv1 ${env1.payloadType.length} ${env1.payloadType} ${payload.length} `);
    assert.ok(
      verify(
        'sha256',
        Buffer.concat([signed, payload]),
        createPublicKey(ci.pub),
        Buffer.from(env1.signatures[0].sig, 'base64'),
      ),
    );
    const st = JSON.parse(payload.toString());
    assert.equal(st._type, 'https://in-toto.io/Statement/v1');
    assert.equal(st.subject[0].digest.sha256, digest.slice(7));
    assert.equal(st.predicate.scanner.result.summary.total, scan.summary.total);
    assert.deepEqual(
      st.predicate.scanner.result.findings.map((f: any) => f.id).sort(),
      scan.findings.map((f: any) => f.id).sort(),
    );
    assert.ok(scan.summary.total > 0, 'alpine 3.7.3 has known vulnerabilities');
  });

  it('customs verify --attestation vuln accepts the fresh scan and refuses a wrong key, an old one, another image', async () => {
    const ok = customs(
      ['verify', `${reg.host}/team/app:1.0`, '--key', files['ci.pub'], '--attestation', 'vuln', '--insecure'],
      { env },
    );
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /vuln attestation accepted — signed scan from .* findings, grade/);
    const wrong = customs(
      [
        'verify',
        `${reg.host}/team/app:1.0`,
        '--key',
        files['other.pub'],
        '--attestation',
        'vuln',
        '--insecure',
      ],
      { env },
    );
    assert.equal(wrong.status, 1);
    assert.match(wrong.stdout, /REFUSED — no vuln attestation .* verifies: no signature verifies/);
    const old = customs(
      [
        'verify',
        `${reg.host}/team/app:1.0`,
        '--key',
        files['ci.pub'],
        '--attestation',
        'vuln',
        '--max-db-age',
        '0',
        '--insecure',
      ],
      { env },
    );
    assert.equal(old.status, 1);
    assert.match(old.stdout, /older than 0 days|database 0 days old/);
    // The envelope copied under another image's .att tag does not vouch for that image.
    const c = client();
    const otherDigest = (await c.manifest('team/other', '1.0')).digest;
    const src = await c.manifest('team/app', attestationTag(digest));
    const layer = JSON.parse(src.body.toString()).layers[0];
    const blob = await c.smallBlob('team/app', layer.digest);
    await c.pushBlob('team/other', layer.digest, blob.length, () => blob);
    const cfg = JSON.parse(src.body.toString()).config;
    const cfgBlob = await c.smallBlob('team/app', cfg.digest);
    await c.pushBlob('team/other', cfg.digest, cfgBlob.length, () => cfgBlob);
    await c.putManifest(
      'team/other',
      attestationTag(otherDigest),
      src.body,
      'application/vnd.oci.image.manifest.v1+json',
    );
    await c.close();
    const copied = customs(
      [
        'verify',
        `${reg.host}/team/other:1.0`,
        '--key',
        files['ci.pub'],
        '--attestation',
        'vuln',
        '--insecure',
      ],
      { env },
    );
    assert.equal(copied.status, 1);
    assert.match(copied.stdout, /signed for another image/);
  });

  it('a tampered envelope is refused', async () => {
    const c = client();
    const src = await c.manifest('team/app', attestationTag(digest));
    const m = JSON.parse(src.body.toString());
    const e = JSON.parse((await c.smallBlob('team/app', m.layers[0].digest)).toString());
    const st = JSON.parse(Buffer.from(e.payload, 'base64').toString());
    st.predicate.scanner.result.summary.total = 0;
    st.predicate.scanner.result.findings = [];
    e.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    const body = Buffer.from(JSON.stringify(e));
    const d = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await c.pushBlob('team/app', d, body.length, () => body);
    m.layers = [{ ...m.layers[0], digest: d, size: body.length }];
    await c.putManifest(
      'team/app',
      'sha256-tampered.att',
      Buffer.from(JSON.stringify(m)),
      'application/vnd.oci.image.manifest.v1+json',
    );
    const tampered = await c.manifest('team/app', 'sha256-tampered.att');
    await c.putManifest(
      'team/app',
      attestationTag(digest),
      tampered.body,
      'application/vnd.oci.image.manifest.v1+json',
    );
    await c.close();
    const r = customs(
      ['verify', `${reg.host}/team/app:1.0`, '--key', files['ci.pub'], '--attestation', 'vuln', '--insecure'],
      { env },
    );
    assert.equal(r.status, 1);
    assert.match(r.stdout, /no signature verifies/);
  });

  it('verdicts: the newest signed verdict for the environment decides, and only until it expires', async () => {
    const c = client();
    const verdict = (p: Partial<VerdictPredicate>) => {
      const pred: VerdictPredicate = {
        environment: 'production',
        repository: `${reg.host}/team/app`,
        allowed: true,
        status: 'approved',
        reasons: [],
        rulesFailed: [],
        approvals: [{ by: 'alice', at: new Date().toISOString(), decision: 'approve' }],
        exceptions: [],
        database: { version: 'v1' },
        decidedAt: new Date().toISOString(),
        validUntil: new Date(Date.now() + 3_600_000).toISOString(),
        issuer: 'test',
        ...p,
      };
      const type = verdictPredicateType(pred.environment);
      const st = statement(`${reg.host}/team/app`, digest, type, pred);
      return { envelope: signEnvelope(Buffer.from(JSON.stringify(st)), ci.key), predicateType: type };
    };
    const run = (envName: string) =>
      customs(
        [
          'verify',
          `${reg.host}/team/app@${digest}`,
          '--key',
          files['ci.pub'],
          '--attestation',
          'verdict',
          '--env',
          envName,
          '--insecure',
        ],
        { env },
      );
    const replaceVerdicts = (old: any) => String(old?.predicateType).startsWith(VERDICT_PREDICATE);
    await attachAttestations(c, 'team/app', digest, [verdict({})], replaceVerdicts);
    let r = run('production');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /allowed in production \(approved\)/);
    assert.equal(run('staging').status, 1, 'a verdict for production says nothing about staging');
    // A statement typed for staging whose body claims production counts for neither.
    const forged = verdict({ environment: 'staging' });
    const st = JSON.parse(Buffer.from(forged.envelope.payload, 'base64').toString());
    st.predicate.environment = 'production';
    await attachAttestations(
      c,
      'team/app',
      digest,
      [{ envelope: signEnvelope(Buffer.from(JSON.stringify(st)), ci.key), predicateType: st.predicateType }],
      () => false,
    );
    assert.equal(run('staging').status, 1);
    // A verdict decided for another repository (where an exception held) does not speak here.
    await attachAttestations(
      c,
      'team/app',
      digest,
      [verdict({ repository: `${reg.host}/team/other` })],
      replaceVerdicts,
    );
    r = run('production');
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /decided for .*team\/other, not .*team\/app/);
    // An older "allowed" beside a newer "denied": the newer decides (no replay of old approvals).
    await attachAttestations(
      c,
      'team/app',
      digest,
      [
        verdict({ decidedAt: new Date(Date.now() - 60_000).toISOString() }),
        verdict({ allowed: false, status: 'rejected', reasons: ['rejected by bob'] }),
      ],
      replaceVerdicts,
    );
    r = run('production');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /newest verdict for production is rejected: rejected by bob/);
    await attachAttestations(
      c,
      'team/app',
      digest,
      [verdict({ validUntil: new Date(Date.now() - 1000).toISOString() })],
      replaceVerdicts,
    );
    r = run('production');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /expired/);
    // The scan attestation stayed beside the verdicts.
    const m = JSON.parse((await c.manifest('team/app', attestationTag(digest))).body.toString());
    assert.ok(m.layers.some((l: any) => l.annotations.predicateType === VULN_PREDICATE));
    await c.close();
  });

  it('bad flags fail before any scan, with the reason', () => {
    assert.match(customs(['image', archive, '--attest'], { env }).stderr, /--attest needs --key/);
    assert.match(
      customs(['image', archive, '--attest', '--key', files['ci.key']], { env }).stderr,
      /needs --push/,
    );
    assert.match(
      customs(['image', archive, '--attest', '--key', files['ci.pub'], '--push', 'x/y:1'], { env }).stderr,
      /not a PEM private key/,
    );
    assert.match(
      customs(['verify', 'x/y@' + DIGEST, '--key', files['ci.pub'], '--attestation', 'verdict'], { env })
        .stderr,
      /needs --env/,
    );
  });
});
