import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseChallenges, pickChallenge } from '../../../src/image/registry/challenge.js';
import { retryAfterMs } from '../../../src/image/registry/client.js';
import { credentialsFor } from '../../../src/image/registry/credentials.js';
import { apiHost, formatReference, parseReference } from '../../../src/image/registry/reference.js';
import { candidateEndpoints } from '../../../src/image/sources/daemon.js';
import { LayerCache } from '../../../src/image/layer-cache.js';
import { createHash } from 'node:crypto';
import { utimesSync, readdirSync } from 'node:fs';

describe('image references, normalised as docker does', () => {
  const cases: Array<[string, string]> = [
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.19', 'docker.io/library/alpine:3.19'],
    ['library/alpine:3.19', 'docker.io/library/alpine:3.19'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/library/alpine', 'docker.io/library/alpine:latest'],
    ['bitnami/redis:7.2', 'docker.io/bitnami/redis:7.2'],
    ['ghcr.io/org/app:1.2', 'ghcr.io/org/app:1.2'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/team/app:dev', 'localhost:5000/team/app:dev'],
    ['registry.local:5000/a/b/c:1.0-rc.1', 'registry.local:5000/a/b/c:1.0-rc.1'],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1',
    ],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
    ['my_repo/app__x/a-b--c:1', 'docker.io/my_repo/app__x/a-b--c:1'],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.equal(formatReference(parseReference(input)), want));
  }

  it('a digest replaces the implied tag; tag and digest together keep both', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseReference(`ghcr.io/org/app@${d}`), {
      domain: 'ghcr.io',
      repository: 'org/app',
      tag: undefined,
      digest: d,
    });
    assert.equal(parseReference(`alpine:3.19@${d}`).tag, '3.19');
  });

  it('a capitalised first component is a registry, as in docker', () => {
    assert.equal(parseReference('Registry/app').domain, 'Registry');
  });

  for (const bad of [
    '',
    'Alpine',
    'alpine:',
    'alpine@sha256:abc',
    'a/B',
    'app:-bad',
    'ghcr.io/',
    'a//b',
    '-a',
  ]) {
    it(`refuses "${bad}"`, () => assert.throws(() => parseReference(bad), /invalid image reference/));
  }

  it('Docker Hub is reached at registry-1.docker.io', () => {
    assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(apiHost('ghcr.io'), 'ghcr.io');
  });
});

describe('WWW-Authenticate challenges', () => {
  it('reads a Bearer challenge with quoted parameters', () => {
    const c = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    );
    assert.deepEqual(c, [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/alpine:pull',
        },
      },
    ]);
  });
  it('reads Basic, escaped quotes and commas inside quotes; prefers Bearer', () => {
    const c = parseChallenges(
      'Basic realm="a \\"b\\", c", Bearer realm="https://t/x",scope="repository:a:pull,push"',
    );
    assert.equal(c.length, 2);
    assert.equal(c[0].params.realm, 'a "b", c');
    assert.equal(pickChallenge(c)?.scheme, 'bearer');
    assert.equal(pickChallenge(c)?.params.scope, 'repository:a:pull,push');
    assert.deepEqual(parseChallenges(undefined), []);
  });
});

describe('Retry-After', () => {
  it('seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 5_000), 5_000);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(undefined), undefined);
  });
});

describe('credentials from docker config.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'customs-creds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = (name: string, c: object) => {
    const f = join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(c));
    return f;
  };

  it('auths: base64 user:password, keys with or without scheme; Docker Hub under its v1 key', async () => {
    const auth = Buffer.from('u:p:with:colons').toString('base64');
    const f = config('auths', {
      auths: {
        'https://index.docker.io/v1/': { auth },
        'http://reg.local:5000': { auth },
        'ghcr.io': { identitytoken: 'tok' },
      },
    });
    assert.deepEqual(await credentialsFor('docker.io', f), {
      username: 'u',
      password: 'p:with:colons',
      source: f,
    });
    assert.equal((await credentialsFor('reg.local:5000', f))?.username, 'u');
    assert.deepEqual(await credentialsFor('ghcr.io', f), { identityToken: 'tok', source: f });
    assert.equal(await credentialsFor('quay.io', f), undefined);
    assert.equal(await credentialsFor('x.io', join(dir, 'absent.json')), undefined);
  });

  it('credHelpers and credsStore run docker-credential-NAME get; "not found" is no credentials', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const helper = (name: string, script: string) => {
      writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`);
      chmodSync(join(bin, `docker-credential-${name}`), 0o755);
    };
    helper('ok', 'read s; printf \'{"ServerURL":"%s","Username":"<token>","Secret":"refresh"}\' "$s"');
    helper('none', 'echo "credentials not found in native keychain"; exit 1');
    helper('broken', 'echo "boom" >&2; exit 3');
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const f = config('helpers', {
        credHelpers: { 'ghcr.io': 'ok', 'quay.io': 'none', 'x.io': 'broken' },
        credsStore: 'none',
      });
      assert.deepEqual(await credentialsFor('ghcr.io', f), {
        identityToken: 'refresh',
        source: 'docker-credential-ok',
      });
      assert.equal(await credentialsFor('quay.io', f), undefined);
      await assert.rejects(credentialsFor('x.io', f), /docker-credential-broken failed: boom/);
      assert.equal(await credentialsFor('docker.io', f), undefined); // credsStore says not found
      const missing = config('missing', { credsStore: 'nosuchhelper' });
      await assert.rejects(
        credentialsFor('docker.io', missing),
        /docker-credential-nosuchhelper is not installed/,
      );
    } finally {
      process.env.PATH = oldPath;
    }
  });

  it('a config.json that does not parse is named', async () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{ nope');
    await assert.rejects(credentialsFor('ghcr.io', f), (e: Error & { input?: string }) => e.input === f);
  });
});

describe('daemon endpoints', () => {
  it('DOCKER_HOST wins; otherwise docker then podman sockets; podman: only podman', () => {
    assert.deepEqual(
      candidateEndpoints('docker', { DOCKER_HOST: 'unix:///tmp/d.sock' }).map((e) => e.label),
      ['unix:///tmp/d.sock'],
    );
    assert.deepEqual(
      candidateEndpoints('docker', { XDG_RUNTIME_DIR: '/run/user/1000' }).map((e) => e.label),
      [
        'unix:///var/run/docker.sock',
        'unix:///run/user/1000/podman/podman.sock',
        'unix:///run/podman/podman.sock',
      ],
    );
    assert.deepEqual(
      candidateEndpoints('podman', { CONTAINER_HOST: 'unix:///tmp/p.sock' }).map((e) => e.label),
      ['unix:///tmp/p.sock', 'unix:///run/podman/podman.sock'],
    );
    assert.deepEqual(candidateEndpoints('docker', { DOCKER_HOST: 'tcp://127.0.0.1:2375' })[0], {
      label: 'tcp://127.0.0.1:2375',
      host: '127.0.0.1',
      port: 2375,
    });
    assert.throws(
      () => candidateEndpoints('docker', { DOCKER_HOST: 'ssh://host' }),
      /only unix:\/\/ and tcp:\/\//,
    );
  });
});

describe('the layer cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'customs-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

  it('keeps what fits its bound, least recently used out first; an aborted write leaves nothing', async () => {
    const cache = new LayerCache(dir, 150);
    const blobs = [Buffer.alloc(60, 1), Buffer.alloc(60, 2), Buffer.alloc(60, 3)];
    for (const [i, b] of blobs.entries()) {
      const w = cache.writer(digest(b));
      await w.write(b);
      await w.commit();
      // Distinct use times, oldest first.
      const f = join(dir, 'sha256', digest(b).slice(7));
      utimesSync(f, new Date(1000 * (i + 1)), new Date(1000 * (i + 1)));
      if (i === 1) cache.open(digest(blobs[0]))?.destroy(); // reading blob 0 makes it recent
    }
    const left = readdirSync(join(dir, 'sha256')).sort();
    assert.equal(cache.status().bytes <= 150, true);
    assert.equal(left.length, 2);
    assert.ok(!left.includes(digest(blobs[1]).slice(7)), 'the least recently used went first');
    const w = cache.writer(digest(Buffer.from('x')));
    await w.write(Buffer.from('x'));
    w.abort();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(readdirSync(join(dir, 'sha256')).filter((f) => f.endsWith('.part')).length, 0);
    assert.deepEqual(cache.clean(), { blobs: 2, bytes: 120 });
  });

  it('a cache folder that cannot be written does not fail the download', async () => {
    const other = mkdtempSync(join(tmpdir(), 'customs-cache-'));
    const file = join(other, 'not-a-folder');
    writeFileSync(file, 'x');
    const cache = new LayerCache(join(file, 'sub'), 1000);
    const w = cache.writer(digest(Buffer.from('y')));
    await w.write(Buffer.from('y'));
    await w.commit();
    assert.equal(cache.status().blobs, 0);
    rmSync(other, { recursive: true, force: true });
  });
});
