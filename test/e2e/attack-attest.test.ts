import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it, mock } from 'node:test';
import { fetchAttestations, statementOf } from '../../src/gate/attest/oci.js';
import { attestImage, type AttestDeps } from '../../src/gate/attest/server.js';
import { loadAttestationKey, loadSigner } from '../../src/gate/server-key.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import type { ScanResult } from '../../src/model/scan.js';
import type { Policy } from '../../src/policy/policy.js';
import { openDb, type Db } from '../../src/store/db.js';
import { attestedDigests, nextAttestationExpiry, putAttestation } from '../../src/store/attestations.js';
import { insertException, setExceptionState } from '../../src/store/exceptions.js';
import { recordImage, saveScan } from '../../src/store/images.js';
import { upsertRegistry } from '../../src/store/registries.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { makeTar, ociLayout } from '../helpers/image-writer.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { customsAsync, has } from '../helpers/run.js';
import { cleanResult } from '../helpers/results.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// Attack reproduction on the server's signed verdicts: an "allowed" that rests on an exception is
// signed valid for --attest-valid-for (24 h), past the exception's own expiry; nothing re-signs
// when the exception expires (no event), so a cluster admits the image on the server's word after
// the gate itself denies it. The test asserts the safe answer: it fails while the hole is open.
// On both stores.
const skip =
  !has('docker-registry') || !has('skopeo') ? 'docker-registry and skopeo are not installed' : false;

describeStores("attack: the server's signed verdicts", { skip, timeout: 120_000 }, (engine) => {
  let tmp: string;
  let store: TestStore;
  let reg: Registry;
  let db: Db;
  let deps: AttestDeps;
  let digest: string;
  let box: SecretBox;
  // Staging: the base OS must be supported; the image's is not, an exception waives the rule.
  const policy: Policy = {
    environments: { staging: { rules: [{ id: 'eol', check: 'base-image-supported', severity: 'HIGH' }] } },
  } as unknown as Policy;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-xc-attest-'));
    reg = new Registry(join(tmp, 'registry'), await freePort());
    await reg.start();
    store = await freshStore(engine, join(tmp, 'data'), 'xc_attest');
    db = await openDb(store.where);
    box = SecretBox.fromEnvOrFile(join(tmp, 'secret.key'));
    db.signer = await loadSigner(db, box);
    deps = { db, box, policy };
    await upsertRegistry(db, box, { url: `http://${reg.host}`, insecure: true, attest: true });
    const dir = join(tmp, 'layout');
    digest = ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/marker', content: 'old base' }])],
      tag: 'latest',
    }).manifestDigest;
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:1.0`);
    await recordImage(db, { registry: reg.host, repository: 'team/app', digest });
    await saveEol(digest);
  });
  async function saveEol(digest: string, eolDate = '2016-05-01') {
    await saveScan(db, {
      digest,
      dbVersion: 'v1',
      source: 'registry',
      durationMs: 1,
      provenance: { kind: 'server-scan', by: 'registry', at: new Date().toISOString() },
      result: cleanResult('app', {
        os: { id: 'alpine', version: '3.1', idLike: [], source: 'etc/os-release', eol: { date: eolDate } },
      } as unknown as Partial<ScanResult>),
    });
  }
  after(async () => {
    await db?.close();
    await store?.drop();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('validUntil is not capped by the expiry of the exception in force', async () => {
    const expires = new Date(Date.now() + 60_000).toISOString();
    await insertException(db, {
      rule: 'eol',
      digest,
      environments: ['staging'],
      reason: 'rebuild on the new base next sprint',
      expiresAt: expires,
      state: 'active',
      createdBy: 'token:dev#2',
      at: new Date().toISOString(),
    });
    const r = await attestImage(deps, digest, 86_400);
    assert.equal(r.pushed[0]?.verdicts.staging, 'auto-approved', JSON.stringify(r));
    const c = new RegistryClient(reg.host, { insecure: true });
    const found = await fetchAttestations(c, 'team/app', digest);
    await c.close();
    const staging = found.envelopes
      .map((e) => statementOf(e.envelope))
      .find((s) => s?.predicateType.endsWith('/verdict/v1/staging'))?.predicate as {
      allowed: boolean;
      validUntil: string;
      exceptions: Array<{ expires: string }>;
    };
    assert.equal(staging.allowed, true);
    assert.equal(staging.exceptions[0].expires, expires);
    assert.ok(
      staging.validUntil <= expires,
      `the signed "allowed" holds until ${staging.validUntil}, the exception it rests on ends at ${expires}`,
    );
  });
  it("a verdict signed for repository A (A's exception) copied under B's .att passes verify for B", async () => {
    const dir = join(tmp, 'layout2');
    const d2 = ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/marker', content: 'same digest, two repositories' }])],
      tag: 'latest',
    }).manifestDigest;
    for (const repo of ['team/app', 'team/other']) {
      skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/${repo}:2.0`);
      await recordImage(db, { registry: reg.host, repository: repo, digest: d2 });
    }
    await saveEol(d2);
    // The waiver is for team/app only: in team/other the gate denies the same digest.
    await insertException(db, {
      rule: 'eol',
      repository: `${reg.host}/team/app`,
      digest: d2,
      environments: ['staging'],
      reason: 'team/app is internal only',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      state: 'active',
      createdBy: 'token:dev#2',
      at: new Date().toISOString(),
    });
    const r = await attestImage(deps, d2, 3600);
    const by = Object.fromEntries(r.pushed.map((p) => [p.place, p.verdicts.staging]));
    assert.deepEqual(by, {
      [`${reg.host}/team/app`]: 'auto-approved',
      [`${reg.host}/team/other`]: 'policy-failed',
    });
    const keyFile = join(tmp, 'server.pub');
    writeFileSync(keyFile, (await loadAttestationKey(db, box)).publicPem);
    const verify = (repo: string) =>
      customsAsync([
        'verify',
        `${reg.host}/${repo}@${d2}`,
        '--key',
        keyFile,
        '--attestation',
        'verdict',
        '--env',
        'staging',
        '--insecure',
      ]);
    assert.equal((await verify('team/other')).status, 1, 'denied in team/other as signed');
    // Whoever may push to team/other copies team/app's attestations over its own.
    const tag = `sha256-${d2.slice(7)}.att`;
    skopeoCopy(`docker://${reg.host}/team/app:${tag}`, `docker://${reg.host}/team/other:${tag}`, [
      '--src-tls-verify=false',
    ]);
    const v = await verify('team/other');
    assert.equal(
      v.status,
      1,
      `team/other passes on team/app's verdict (the subject's name is not checked):\n${v.stdout}${v.stderr}`,
    );
  });
  it('a replica whose clock runs 10 minutes ahead signs "allowed"; the revocation signed after it does not replace it', async () => {
    const dir = join(tmp, 'layout3');
    const d3 = ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/marker', content: 'two replicas' }])],
      tag: 'latest',
    }).manifestDigest;
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:3.0`);
    await recordImage(db, { registry: reg.host, repository: 'team/app', digest: d3 });
    await saveEol(d3);
    const { id } = await insertException(db, {
      rule: 'eol',
      digest: d3,
      environments: ['staging'],
      reason: 'until the rebuild',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      state: 'active',
      createdBy: 'token:dev#2',
      at: new Date().toISOString(),
    });
    // Replica A: its clock is 10 minutes fast (HA: two servers, one queue).
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 600_000 });
    try {
      const a = await attestImage(deps, d3, 86_400);
      assert.equal(a.pushed[0]?.verdicts.staging, 'auto-approved');
    } finally {
      mock.timers.reset();
    }
    // Replica B, on time: the exception is revoked and B signs the denial at once.
    await setExceptionState(db, id, 'revoked', 'user:approver', new Date().toISOString());
    const b = await attestImage(deps, d3, 86_400);
    assert.equal(b.pushed[0]?.verdicts.staging, 'policy-failed', JSON.stringify(b));
    const keyFile = join(tmp, 'server3.pub');
    writeFileSync(keyFile, (await loadAttestationKey(db, box)).publicPem);
    const v = await customsAsync([
      'verify',
      `${reg.host}/team/app@${d3}`,
      '--key',
      keyFile,
      '--attestation',
      'verdict',
      '--env',
      'staging',
      '--insecure',
    ]);
    assert.equal(v.status, 1, `the revoked "allowed" still wins on decidedAt:\n${v.stdout}${v.stderr}`);
  });
  /** The staging verdict of a digest in team/app as the registry holds it now. */
  async function stagingVerdict(d: string) {
    const c = new RegistryClient(reg.host, { insecure: true });
    try {
      const found = await fetchAttestations(c, 'team/app', d);
      return found.envelopes
        .map((e) => statementOf(e.envelope))
        .filter((s) => s?.predicateType.endsWith('/verdict/v1/staging'))
        .map(
          (s) => s!.predicate as { allowed: boolean; status: string; validUntil: string; repository: string },
        );
    } finally {
      await c.close();
    }
  }

  it('a verdict held short is not re-pushed before it runs out, and is re-signed as the gate then decides after', async () => {
    const dir = join(tmp, 'layout4');
    const d4 = ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/marker', content: 'short exception' }])],
      tag: 'latest',
    }).manifestDigest;
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:4.0`);
    await recordImage(db, { registry: reg.host, repository: 'team/app', digest: d4 });
    await saveEol(d4);
    const expires = new Date(Date.now() + 120_000).toISOString();
    await insertException(db, {
      rule: 'eol',
      digest: d4,
      environments: ['staging'],
      reason: 'two minutes',
      expiresAt: expires,
      state: 'active',
      createdBy: 'token:dev#2',
      at: new Date().toISOString(),
    });
    const first = await attestImage(deps, d4, 86_400);
    assert.equal(first.pushed[0]?.verdicts.staging, 'auto-approved');
    assert.deepEqual(
      (await stagingVerdict(d4)).map((v) => [v.allowed, v.validUntil, v.repository]),
      [[true, expires, `${reg.host}/team/app`]],
    );
    // The refresh timer wakes for the earliest verdict that runs out.
    assert.ok((await nextAttestationExpiry(db, new Date().toISOString()))! <= expires);
    // Due for the sweep, but re-signing now could not make it last longer: nothing is pushed.
    const again = await attestImage(deps, d4, 86_400);
    assert.equal(again.pushed.length, 0, JSON.stringify(again));
    assert.match(again.skipped[0].reason, /unchanged since/);
    // Once the exception has run out, the sweep signs the denial.
    mock.timers.enable({ apis: ['Date'], now: Date.parse(expires) + 1000 });
    try {
      const after = await attestImage(deps, d4, 86_400);
      assert.equal(after.pushed[0]?.verdicts.staging, 'policy-failed', JSON.stringify(after));
    } finally {
      mock.timers.reset();
    }
    assert.deepEqual(
      (await stagingVerdict(d4)).map((v) => [v.allowed, v.status]),
      [[false, 'policy-failed']],
    );
  });

  it("validUntil is capped at the policy's next change (the base OS reaching its end of life)", async () => {
    const dir = join(tmp, 'layout5');
    const d5 = ociLayout(dir, {
      layers: [await makeTar([{ name: 'etc/marker', content: 'supported for 10 more days' }])],
      tag: 'latest',
    }).manifestDigest;
    skopeoCopy(`oci:${dir}:latest`, `docker://${reg.host}/team/app:5.0`);
    await recordImage(db, { registry: reg.host, repository: 'team/app', digest: d5 });
    const eol = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await saveEol(d5, eol);
    const r = await attestImage(deps, d5, 30 * 86_400);
    assert.equal(r.pushed[0]?.verdicts.staging, 'auto-approved', JSON.stringify(r));
    const [v] = await stagingVerdict(d5);
    assert.equal(v.allowed, true);
    assert.ok(
      Date.parse(v.validUntil) <= Date.parse(`${eol}T23:59:59Z`) + 1,
      `allowed until ${v.validUntil}, the OS reaches its end of life on ${eol}`,
    );
  });

  it('a sweep pages through every attested image (keyset on the digest)', async () => {
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const ds = ['1', '2', '3'].map((c) => `sha256:${c.repeat(64)}`);
    for (const digest of ds)
      await putAttestation(db, {
        digest,
        registry: 'page.invalid',
        repository: 'team/app',
        keyId: 'k',
        validUntil: until,
        verdicts: {},
        content: '',
      });
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await attestedDigests(db, { limit: 2, after });
      seen.push(...page);
      if (page.length < 2) break;
      after = page[page.length - 1];
    }
    for (const d of ds) assert.equal(seen.filter((x) => x === d).length, 1, `${d} once`);
  });
});
