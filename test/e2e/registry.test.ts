import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { freePort, Registry, skopeoCopy } from '../helpers/registry.js';
import { customs, customsAsync, has } from '../helpers/run.js';
import { TokenServer } from '../helpers/token-server.js';

// Real registries on loopback: Debian's docker-registry (CNCF Distribution), images pushed by skopeo
// (and buildah for a multi-platform index), scanned by the built CLI as a user would.
const skip =
  !has('docker-registry') || !has('skopeo')
    ? 'docker-registry and skopeo are not installed (.ci/run installs them)'
    : false;

let tmp: string;
let env: Record<string, string>;
const archives: Record<string, string> = {};

const fpr = (scan: { findings: Array<{ id: string; package: { name: string }; fixedVersion?: string }> }) =>
  scan.findings.map((f) => `${f.package.name} ${f.id} ${f.fixedVersion ?? ''}`).sort();

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'customs-registry-'));
  mkdirSync(join(tmp, 'docker'));
  env = {
    CUSTOMS_DB: join(tmp, 'customs.db'),
    CUSTOMS_CACHE_DIR: join(tmp, 'layers'),
    DOCKER_CONFIG: join(tmp, 'docker'), // never the machine's own credentials
  };
  const r = customs(['db', 'import', shared('advisories/alpine-secdb'), shared('kev'), '-q'], { env });
  assert.equal(r.status, 0, r.stderr);
  for (const v of ['3.7.3', '3.18.9', '3.20.3']) {
    const f = join(tmp, `alpine-${v}.tar`);
    const layer = gunzipSync(readFileSync(shared(`images/alpine/alpine-minirootfs-${v}-x86_64.tar.gz`)));
    writeFileSync(f, await dockerArchive({ layers: [layer], tag: `alpine:${v}` }));
    archives[v] = f;
  }
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('a Distribution registry without auth', { skip }, () => {
  let reg: Registry;
  before(async () => {
    reg = new Registry(join(tmp, 'plain'), await freePort());
    await reg.start();
    // Docker media types (skopeo keeps them from a docker archive) and OCI media types.
    skopeoCopy(`docker-archive:${archives['3.7.3']}`, `docker://${reg.host}/team/app:3.7.3`);
    skopeoCopy(`docker-archive:${archives['3.7.3']}`, `docker://${reg.host}/team/app-oci:3.7.3`, [
      '--format',
      'oci',
    ]);
  });
  after(() => reg.stop());

  it('scans by tag with the same findings as the archive, and names the image by its reference', () => {
    const fromArchive = JSON.parse(customs(['image', archives['3.7.3'], '--format', 'json'], { env }).stdout);
    const r = customs(['image', `${reg.host}/team/app:3.7.3`, '--insecure', '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const scan = JSON.parse(r.stdout);
    assert.ok(
      scan.findings.some((f: { id: string }) => f.id === 'CVE-2019-14697'),
      'musl CVE from secdb',
    );
    assert.deepEqual(fpr(scan), fpr(fromArchive));
    assert.equal(scan.image.kind, 'registry');
    assert.equal(scan.image.name, `${reg.host}/team/app:3.7.3`);
    assert.equal(scan.image.layers[0].mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.match(r.stderr, /1 downloaded, 0 from the cache/);
  });

  it('scans an OCI media-type image by digest, verified', () => {
    const inspect = spawnSync(
      'skopeo',
      ['inspect', '--tls-verify=false', `docker://${reg.host}/team/app-oci:3.7.3`],
      { encoding: 'utf8' },
    );
    const digest = JSON.parse(inspect.stdout).Digest as string;
    const r = customs(
      ['sbom', `${reg.host}/team/app-oci@${digest}`, '--insecure', '--format', 'json', '--no-cache'],
      { env },
    );
    assert.equal(r.status, 0, r.stderr);
    const sbom = JSON.parse(r.stdout);
    assert.equal(sbom.image.manifestDigest, digest);
    assert.equal(sbom.image.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.ok(
      sbom.packages.some(
        (p: { name: string; version: string }) => p.name === 'musl' && p.version === '1.1.18-r3',
      ),
    );
    // A digest the registry does not have is a clear error.
    const missing = customs(['sbom', `${reg.host}/team/app-oci@sha256:${'0'.repeat(64)}`, '--insecure'], {
      env,
    });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /manifest unknown/);
  });

  it('second scan reads shared layers from the cache; cache clean empties it', () => {
    const cacheEnv = { ...env, CUSTOMS_CACHE_DIR: join(tmp, 'cache-test') };
    const ref = `${reg.host}/team/app:3.7.3`;
    const first = customs(['sbom', ref, '--insecure', '--format', 'json'], { env: cacheEnv });
    assert.match(first.stderr, /1 downloaded, 0 from the cache/);
    // The same layer under another repository (OCI-typed manifest, same blob): no download.
    const second = customs(['sbom', `${reg.host}/team/app-oci:3.7.3`, '--insecure', '--format', 'json'], {
      env: cacheEnv,
    });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stderr, /0 downloaded, 1 from the cache/);
    const pkgs = (out: string) =>
      JSON.parse(out).packages.map((p: { name: string; version: string }) => `${p.name} ${p.version}`);
    assert.deepEqual(pkgs(second.stdout), pkgs(first.stdout));
    const status = customs(['cache', 'status'], { env: cacheEnv });
    assert.match(status.stdout, /1 layer/);
    const clean = customs(['cache', 'clean'], { env: cacheEnv });
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stdout, /removed 1 layer/);
    assert.equal(existsSync(join(tmp, 'cache-test')), false);
  });

  it('a damaged cache entry is dropped and the layer fetched again', () => {
    const cacheEnv = { ...env, CUSTOMS_CACHE_DIR: join(tmp, 'cache-damaged') };
    const ref = `${reg.host}/team/app:3.7.3`;
    assert.equal(customs(['sbom', ref, '--insecure'], { env: cacheEnv }).status, 0);
    const dir = join(tmp, 'cache-damaged', 'sha256');
    const [blob] = readdirSync(dir);
    const data = readFileSync(join(dir, blob));
    data[4] ^= 0xff; // gzip MTIME: still decompresses, wrong digest
    writeFileSync(join(dir, blob), data);
    const r = customs(['sbom', ref, '--insecure'], { env: cacheEnv });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /1 downloaded, 0 from the cache/);
  });

  it('without --insecure a plain-HTTP registry is refused with a hint', () => {
    const r = customs(['sbom', `${reg.host}/team/app:3.7.3`], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /needs --insecure/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it(
    'picks a platform from a multi-platform index built with buildah',
    { skip: !has('buildah') && 'buildah is not installed' },
    () => {
      const root = join(tmp, 'buildah');
      const b = (...args: string[]) => {
        const r = spawnSync(
          'buildah',
          ['--root', join(root, 'root'), '--runroot', join(root, 'run'), '--storage-driver', 'vfs', ...args],
          { encoding: 'utf8' },
        );
        assert.equal(r.status, 0, `buildah ${args.join(' ')}: ${r.stderr}`);
        return r.stdout.trim();
      };
      for (const [v, arch] of [
        ['3.20.3', 'amd64'],
        ['3.18.9', 'arm64'],
      ]) {
        const c = b('from', 'scratch');
        b('add', c, shared(`images/alpine/alpine-minirootfs-${v}-x86_64.tar.gz`), '/');
        b('config', '--os', 'linux', '--arch', arch, c);
        b('commit', '-q', c, `img-${arch}`);
      }
      b('manifest', 'create', 'multi:1');
      b('manifest', 'add', 'multi:1', 'containers-storage:localhost/img-amd64');
      b('manifest', 'add', 'multi:1', 'containers-storage:localhost/img-arm64');
      b('manifest', 'push', '--all', '--tls-verify=false', 'multi:1', `docker://${reg.host}/team/multi:1`);
      const os = (platform?: string) => {
        const r = customs(
          [
            'sbom',
            `${reg.host}/team/multi:1`,
            '--insecure',
            '--format',
            'json',
            ...(platform ? ['--platform', platform] : []),
          ],
          { env },
        );
        assert.equal(r.status, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        return `${j.os.version} ${j.image.architecture}`;
      };
      assert.equal(os('linux/amd64'), '3.20.3 amd64');
      assert.equal(os('linux/arm64'), '3.18.9 arm64');
      const none = customs(['sbom', `${reg.host}/team/multi:1`, '--insecure', '--platform', 'linux/s390x'], {
        env,
      });
      assert.equal(none.status, 1);
      assert.match(none.stderr, /no image for platform linux\/s390x; available: linux\/amd64, linux\/arm64/);
    },
  );
});

describe(
  'a registry with htpasswd Basic auth',
  { skip: skip || (!has('htpasswd') && 'htpasswd (apache2-utils) is not installed') },
  () => {
    let reg: Registry;
    const ref = () => `${reg.host}/private/app:1`;
    before(async () => {
      const dir = join(tmp, 'basic');
      mkdirSync(dir, { recursive: true });
      const pw = spawnSync('htpasswd', ['-Bbn', 'alice', 's3cret'], { encoding: 'utf8' });
      writeFileSync(join(dir, 'htpasswd'), pw.stdout);
      reg = new Registry(
        dir,
        await freePort(),
        `  htpasswd:\n    realm: customs-test\n    path: ${join(dir, 'htpasswd')}\n`,
      );
      await reg.start();
      skopeoCopy(`docker-archive:${archives['3.18.9']}`, `docker://${ref()}`, [], 'alice:s3cret');
    });
    after(() => reg.stop());

    const withConfig = (name: string, config: object) => {
      const d = join(tmp, `config-${name}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'config.json'), JSON.stringify(config));
      return { ...env, DOCKER_CONFIG: d };
    };

    it('without credentials: a clear error that says how to log in', () => {
      const r = customs(['sbom', ref(), '--insecure'], { env });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /needs credentials: run "docker login 127\.0\.0\.1:\d+"/);
    });

    it('reads credentials from config.json auths', () => {
      const auth = Buffer.from('alice:s3cret').toString('base64');
      const r = customs(['sbom', ref(), '--insecure', '--format', 'json'], {
        env: withConfig('auths', { auths: { [`http://${reg.host}`]: { auth } } }),
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).os.version, '3.18.9');
    });

    it('asks a docker-credential helper (credHelpers), and never prints the secret', () => {
      const bin = join(tmp, 'bin');
      mkdirSync(bin, { recursive: true });
      const helper = join(bin, 'docker-credential-test');
      writeFileSync(
        helper,
        `#!/bin/sh\nread server\necho "$server" > ${join(tmp, 'helper-asked')}\n[ "$1" = get ] && printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$server"\n`,
      );
      chmodSync(helper, 0o755);
      const e = {
        ...withConfig('helper', { credHelpers: { [reg.host]: 'test' } }),
        PATH: `${bin}:${process.env.PATH}`,
      };
      const r = customs(['sbom', ref(), '--insecure', '--format', 'json'], { env: e });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(join(tmp, 'helper-asked'), 'utf8').trim(), reg.host);
      assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
    });

    it('a wrong password is a clear error naming where the credentials came from', () => {
      const auth = Buffer.from('alice:Wr0ngPass').toString('base64');
      const r = customs(['sbom', ref(), '--insecure'], {
        env: withConfig('wrong', { auths: { [reg.host]: { auth } } }),
      });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /authentication failed for private\/app with the credentials from .*config\.json/,
      );
      assert.doesNotMatch(r.stderr, /Wr0ngPass/);
    });

    it('takes --username with --password-stdin', () => {
      const res = spawnSync(
        process.execPath,
        [
          join(process.cwd(), 'dist/src/cli/main.js'),
          'sbom',
          ref(),
          '--insecure',
          '--username',
          'alice',
          '--password-stdin',
          '--format',
          'json',
        ],
        {
          input: 's3cret\n',
          encoding: 'utf8',
          env: { ...process.env, ...env },
        },
      );
      assert.equal(res.status, 0, res.stderr);
      assert.equal(JSON.parse(res.stdout).os.version, '3.18.9');
    });
  },
);

describe(
  'a registry behind a Bearer token service',
  { skip: skip || (!has('openssl') && 'openssl is not installed') },
  () => {
    let reg: Registry;
    let tokens: TokenServer;
    before(async () => {
      const dir = join(tmp, 'token');
      mkdirSync(dir, { recursive: true });
      tokens = new TokenServer(dir, 'customs-test-registry', 'customs-test-issuer', {
        bob: ['hunter2', ['team/app']],
        pusher: ['push', ['team/app', 'team/other']],
      });
      await tokens.start();
      reg = new Registry(dir, await freePort(), tokens.authYaml());
      await reg.start();
      // Pushing needs push scope: the token server grants pull only, so push through a plain registry
      // sharing the same storage.
      const plain = new Registry(join(dir, 'plain'), await freePort());
      Object.defineProperty(plain, 'storage', { get: () => reg.storage });
      await plain.start();
      try {
        skopeoCopy(`docker-archive:${archives['3.20.3']}`, `docker://${plain.host}/team/app:1`);
        skopeoCopy(`docker-archive:${archives['3.20.3']}`, `docker://${plain.host}/team/other:1`);
      } finally {
        await plain.stop();
      }
    });
    after(async () => {
      await reg.stop();
      await tokens.stop();
    });

    it('gets a token for the repository scope with Basic credentials, then pulls', async () => {
      const e = { ...env, DOCKER_CONFIG: join(tmp, 'tok') };
      mkdirSync(e.DOCKER_CONFIG, { recursive: true });
      writeFileSync(
        join(e.DOCKER_CONFIG, 'config.json'),
        JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('bob:hunter2').toString('base64') } } }),
      );
      const r = await customsAsync(
        ['sbom', `${reg.host}/team/app:1`, '--insecure', '--format', 'json', '--no-cache'],
        { env: e },
      );
      assert.equal(r.status, 0, r.stderr + reg.log);
      assert.equal(JSON.parse(r.stdout).os.version, '3.20.3');
      const asked = tokens.requests.filter((q) => q.user === 'bob');
      assert.ok(asked.length >= 1);
      assert.equal(asked[0].service, 'customs-test-registry');
      assert.ok(asked[0].scopes.includes('repository:team/app:pull'), JSON.stringify(asked));
      // One token serves the whole pull (manifest, config, layer).
      assert.equal(asked.length, 1);
    });

    it('a repository outside the granted scope is refused clearly', async () => {
      const e = { ...env, DOCKER_CONFIG: join(tmp, 'tok') };
      const r = await customsAsync(['sbom', `${reg.host}/team/other:1`, '--insecure', '--no-cache'], {
        env: e,
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /authentication failed for team\/other/);
    });

    it('wrong credentials at the token service are a clear error', async () => {
      const e = { ...env, DOCKER_CONFIG: join(tmp, 'tok-bad') };
      mkdirSync(e.DOCKER_CONFIG, { recursive: true });
      writeFileSync(
        join(e.DOCKER_CONFIG, 'config.json'),
        JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('bob:nope').toString('base64') } } }),
      );
      const r = await customsAsync(['sbom', `${reg.host}/team/app:1`, '--insecure', '--no-cache'], {
        env: e,
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /authentication failed/);
    });

    it('CUSTOMS_REGISTRY_TOKEN is sent as the bearer token', async () => {
      // Anonymous token: the service grants nothing, so the registry refuses it; what matters is
      // that the preset token is used and that the failure is one clear line.
      const r = await customsAsync(['sbom', `${reg.host}/team/app:1`, '--insecure', '--no-cache'], {
        env: { ...env, CUSTOMS_REGISTRY_TOKEN: 'not-a-valid-token' },
      });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /authentication failed for team\/app with the credentials from CUSTOMS_REGISTRY_TOKEN/,
      );
    });
  },
);

describe('registry faults', { skip }, () => {
  let reg: Registry;
  let proxy: FaultProxy;
  const ref = () => `${proxy.host}/team/app:3.7.3`;
  const isLayer = (p: string) => /\/blobs\/sha256:/.test(p);
  let layerSize = 0;
  before(async () => {
    reg = new Registry(join(tmp, 'faults'), await freePort());
    await reg.start();
    skopeoCopy(`docker-archive:${archives['3.7.3']}`, `docker://${reg.host}/team/app:3.7.3`);
    proxy = new FaultProxy({ host: '127.0.0.1', port: reg.port });
    await proxy.start();
    const inspect = spawnSync(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/app:3.7.3`],
      { encoding: 'utf8' },
    );
    layerSize = JSON.parse(inspect.stdout).layers[0].size;
  });
  after(async () => {
    await proxy.stop();
    await reg.stop();
  });

  const scan = (...extra: string[]) =>
    customsAsync(['sbom', ref(), '--insecure', '--no-cache', '--format', 'json', ...extra], { env });

  it('resumes a blob cut off midway with a Range request', async () => {
    proxy.seen.length = 0;
    let cut = false;
    proxy.decide = (q) => {
      if (isLayer(q.path) && !q.range && !cut && q.method === 'GET' && q.path.includes(layerDigest())) {
        cut = true;
        return { cutAfter: Math.floor(layerSize / 2) };
      }
      return 'pass';
    };
    const r = await scan();
    assert.equal(r.status, 0, r.stderr);
    assert.ok(cut);
    // Resumed from what arrived: the cut point, or a little before it when the last bytes were
    // still in flight as the connection broke (the digest check proves nothing was lost).
    const resumed = Number(/^bytes=(\d+)-$/.exec(proxy.seen.find((q) => q.range)?.range ?? '')?.[1]);
    assert.ok(resumed > 0 && resumed <= Math.floor(layerSize / 2), `resumed at ${resumed}`);
    assert.ok(JSON.parse(r.stdout).packages.some((p: { name: string }) => p.name === 'musl'));
  });

  it('honours 429 with Retry-After', async () => {
    proxy.seen.length = 0;
    let limited = 0;
    proxy.decide = (q) =>
      q.path.endsWith('/manifests/3.7.3') && limited++ === 0
        ? { status: 429, headers: { 'retry-after': '1' } }
        : 'pass';
    const t0 = Date.now();
    const r = await scan();
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - t0 >= 1000, 'waited for Retry-After');
    assert.equal(proxy.seen.filter((q) => q.path.endsWith('/manifests/3.7.3')).length, 2);
  });

  it('refuses a layer whose content does not match its digest', async () => {
    proxy.decide = (q) => (isLayer(q.path) && q.path.includes(layerDigest()) ? 'corrupt' : 'pass');
    const r = await scan();
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /layer 1 digest mismatch: the manifest says sha256:[0-9a-f]{64} but the blob is sha256:/,
    );
  });

  it('a stalled registry ends in a clear timeout error, not a hang', async () => {
    proxy.decide = (q) => (q.path.includes('/manifests/') ? 'hang' : 'pass');
    const t0 = Date.now();
    const r = await customsAsync(['sbom', ref(), '--insecure', '--no-cache', '--timeout', '1'], {
      env: { ...env },
    });
    assert.equal(r.status, 1);
    // A stall is retried once by default, and the error says how long it waited in all.
    assert.match(
      r.stderr,
      /sent nothing for 1 s \(--timeout sets how long to wait; 2 attempts, \d+ s in all\)/,
    );
    assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
    // Without retries it ends after one silent second.
    const t1 = Date.now();
    const once = await customsAsync(
      ['sbom', ref(), '--insecure', '--no-cache', '--timeout', '1', '--retries', '0'],
      { env },
    );
    assert.equal(once.status, 1);
    assert.ok(Date.now() - t1 < 5_000, `${Date.now() - t1} ms`);
  });

  it('a registry that stops mid-blob ends in a clear error naming how far it got', async () => {
    let cut = false;
    proxy.decide = (q) => {
      if (cut) return { status: 503 };
      if (isLayer(q.path) && q.path.includes(layerDigest())) {
        cut = true;
        return { cutAfter: 1000 };
      }
      return 'pass';
    };
    const r = await scan();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /HTTP 503|broke off after \d+ bytes/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('refuses a Docker schema 1 manifest with a clear message', async () => {
    proxy.decide = (q) =>
      q.path.endsWith('/manifests/3.7.3')
        ? {
            status: 200,
            headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
            body: JSON.stringify({ schemaVersion: 1, name: 'team/app', tag: '3.7.3', fsLayers: [] }),
          }
        : 'pass';
    const r = await scan();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Docker schema 1 manifest, deprecated and not supported/);
  });

  it('follows a redirect to blob storage on another origin without the Authorization header', async () => {
    const storage = new FaultProxy({ host: '127.0.0.1', port: reg.port });
    await storage.start();
    try {
      proxy.seen.length = 0;
      proxy.decide = (q) =>
        /\/blobs\/sha256:/.test(q.path)
          ? { status: 307, headers: { location: `http://localhost:${storage.port}${q.path}` } }
          : 'pass';
      const r = await customsAsync(['sbom', ref(), '--insecure', '--no-cache', '--format', 'json'], {
        env: { ...env, CUSTOMS_REGISTRY_TOKEN: 'secret-token' },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(JSON.parse(r.stdout).packages.length > 5);
      assert.ok(
        proxy.seen.some((q) => q.authorization === 'Bearer secret-token'),
        'the registry got the token',
      );
      assert.ok(storage.seen.length >= 2, 'config and layer came from the storage origin');
      assert.ok(
        storage.seen.every((q) => !q.authorization),
        'the storage origin never saw it',
      );
    } finally {
      await storage.stop();
    }
  });

  let digestCache = '';
  function layerDigest(): string {
    if (!digestCache) {
      const inspect = spawnSync(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/app:3.7.3`],
        { encoding: 'utf8' },
      );
      digestCache = JSON.parse(inspect.stdout).layers[0].digest;
    }
    return digestCache;
  }
});
