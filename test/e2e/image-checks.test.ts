import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findSecrets, mask } from '../../src/secrets/rules.js';
import { shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

// Real images built by buildah from Dockerfiles: a good multi-stage one and a bad one that adds a
// private key in one layer and deletes it in the next, sets a secret ENV and exposes SSH. Scanned
// with --scanners secret,config through the CLI.
const skip = !has('buildah') ? 'buildah is not installed (.ci/run installs it)' : false;

const GOOD = `FROM scratch AS build
ADD rootfs.tar.gz /
RUN echo built > /hello

FROM scratch
ADD rootfs.tar.gz /
COPY --from=build /hello /hello
USER 1000:1000
HEALTHCHECK CMD ["/bin/true"]
`;

const BAD = `FROM scratch
ADD rootfs.tar.gz /
ENV API_KEY=s3cr3t-Value-42 APP=demo
EXPOSE 22/tcp 8080/tcp
COPY id_rsa /root/.ssh/id_rsa
RUN rm /root/.ssh/id_rsa
`;

let tmp: string;
let key: string;
const images: Record<string, string> = {};

before(() => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'customs-checks-'));
  key = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs1', format: 'pem' })
    .toString();
  const store = join(tmp, 'storage');
  const buildah = (args: string[]) => {
    const r = spawnSync(
      'buildah',
      ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'vfs', ...args],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, `buildah ${args[0]}: ${r.stderr}`);
  };
  for (const [name, dockerfile] of Object.entries({ good: GOOD, bad: BAD })) {
    const ctx = join(tmp, name);
    mkdirSync(ctx);
    copyFileSync(shared('images/alpine/alpine-minirootfs-3.20.3-x86_64.tar.gz'), join(ctx, 'rootfs.tar.gz'));
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    writeFileSync(join(ctx, 'id_rsa'), key);
    // Docker format keeps HEALTHCHECK (the OCI image config has no field for it).
    buildah([
      'bud',
      '--format',
      'docker',
      '--layers',
      '--isolation',
      'chroot',
      '-t',
      `checks/${name}:1`,
      ctx,
    ]);
    images[name] = join(tmp, `${name}.tar`);
    buildah(['push', `checks/${name}:1`, `docker-archive:${images[name]}:checks/${name}:1`]);
  }
});
after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

type Json = {
  secrets: Array<{
    rule: string;
    path: string;
    line: number;
    match: string;
    deleted?: boolean;
    layer?: { createdBy?: string };
  }>;
  misconfigurations: Array<{ rule: string; message: string }>;
  findings: unknown[];
};
const scan = (name: string, ...extra: string[]) => {
  const r = customs(['image', images[name], '--scanners', 'secret,config', '--format', 'json', ...extra], {
    env: { CUSTOMS_DB: join(tmp, 'no-db') },
  });
  assert.equal(r.status, 0, r.stderr);
  return { json: JSON.parse(r.stdout) as Json, r };
};

describe('secrets and image-config checks on images built by buildah', { skip }, () => {
  it('finds the private key deleted in a later layer, with its layer and step, masked', () => {
    const { json, r } = scan('bad');
    const k = json.secrets.find((s) => s.rule === 'private-key');
    assert.ok(k, JSON.stringify(json.secrets));
    assert.equal(k.path, '/root/.ssh/id_rsa');
    assert.equal(k.deleted, true);
    assert.match(k.layer?.createdBy ?? '', /COPY/);
    // Never the key itself, in any output.
    const body = key.split('\n')[1];
    assert.ok(!r.stdout.includes(body));
    assert.match(k.match, /^\*+$|^.{4}\*+$/);
    const env = json.secrets.find((s) => s.path === 'image config (Env)');
    assert.match(env?.match ?? '', /^API_KEY=s3cr\*+$/);
  });

  it('the bad image fails the config checks, the good one passes them', () => {
    const bad = scan('bad')
      .json.misconfigurations.map((m) => m.rule)
      .sort();
    assert.deepEqual(bad, ['CST-IC001', 'CST-IC002', 'CST-IC003', 'CST-IC004']);
    const good = scan('good').json;
    assert.deepEqual(good.misconfigurations, []);
    assert.deepEqual(good.secrets, []);
    assert.deepEqual(good.findings, []);
  });

  it('secrets fail the gate and show in SARIF, valid and masked', () => {
    const out = join(tmp, 'bad.sarif');
    const r = customs(
      [
        'image',
        images.bad,
        '--scanners',
        'secret,config',
        '--format',
        'sarif',
        '--output',
        out,
        '--fail-on',
        'high',
      ],
      {
        env: { CUSTOMS_DB: join(tmp, 'no-db') },
      },
    );
    assert.equal(r.status, 1);
    const sarif = JSON.parse(readFile(out));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    const ids = sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId);
    assert.ok(ids.includes('secret/private-key') && ids.includes('CST-IC002'), ids.join(', '));
    assert.ok(!readFile(out).includes(key.split('\n')[1]));
  });

  it('the table says the key was deleted but is still in the image', () => {
    const r = customs(['image', images.bad, '--scanners', 'secret'], {
      env: { CUSTOMS_DB: join(tmp, 'no-db') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /Private key {2}\/root\/\.ssh\/id_rsa:1 .*\(deleted in a later layer, still in the image\)/,
    );
  });
});

const readFile = (p: string) => readFileSync(p, 'utf8');

describe('secret rules', () => {
  const cases: Array<[string, string]> = [
    ['aws-access-key-id', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE'],
    ['aws-secret-access-key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['github-pat', `token: ghp_${'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'}`],
    ['gitlab-pat', 'GITLAB_TOKEN=glpat-Ab3De6Gh9Jk2Mn5Pq8St'],
    [
      'slack-webhook',
      'url: https://hooks.slack.com/services/T01ABCDEFGH/B01ABCDEFGH/aB3dE6gH9jK2mN5pQ8sT1vW4',
    ],
    ['npm-token', '//registry.npmjs.org/:_authToken=npm_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'],
    ['stripe-secret-key', `STRIPE=sk_live_${'aB3dE6gH9jK2mN5pQ8sT1vW4y'}`],
    ['generic-secret', 'db_password: "Xk9#mQ2$vL7pR4wZ"'],
  ];
  for (const [rule, text] of cases) {
    it(rule, () =>
      assert.ok(
        findSecrets(text).some((m) => m.rule === rule),
        JSON.stringify(findSecrets(text)),
      ),
    );
  }
  it('placeholders and low-entropy values are not secrets', () => {
    assert.deepEqual(findSecrets('password: "changeme-changeme"\napi_key = "xxxxxxxxxxxxxxxx"'), []);
    assert.deepEqual(findSecrets('aws_secret_access_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), []);
  });
  it('masks keep at most four characters', () => {
    assert.equal(mask('ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'), `ghp_${'*'.repeat(24)}`);
    assert.equal(mask('short'), '********');
  });
});
