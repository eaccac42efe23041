import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { dockerArchive } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs, customsAsync, has } from '../helpers/run.js';

// Real engines started by the test: Debian's dockerd (docker.io) and `podman system service`, each
// with its own storage and API socket; an image is loaded through the API and scanned by name.

/** POST or GET on an engine's unix socket. */
function api(
  socket: string,
  method: string,
  path: string,
  body?: Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: socket, method, path, headers: { 'content-type': 'application/x-tar' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitFor(socket: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (existsSync(socket)) {
      try {
        if ((await api(socket, 'GET', '/version')).status === 200) return;
      } catch {
        /* not ready */
      }
    }
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`engine did not come up: ${log().slice(-2000)}`);
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

// A short path: unix socket paths are limited to 107 bytes.
const base = mkdtempSync('/tmp/customs-daemon-');
after(() => rmSync(base, { recursive: true, force: true }));
let archive: Buffer;
let env: Record<string, string>;
let fromArchive: string[];

before(async () => {
  archive = await dockerArchive({
    layers: [gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')))],
    tag: 'customs-test/alpine:3.7.3',
  });
  writeFileSync(join(base, 'image.tar'), archive);
  env = { CUSTOMS_DB: join(base, 'customs.db') };
  const r = customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env });
  assert.equal(r.status, 0, r.stderr);
  fromArchive = ids(customs(['image', join(base, 'image.tar'), '--format', 'json'], { env }).stdout);
});

const ids = (json: string) =>
  (JSON.parse(json).findings as Array<{ id: string; package: { name: string } }>)
    .map((f) => `${f.package.name} ${f.id}`)
    .sort();

const dockerSkip = !has('dockerd')
  ? 'dockerd is not installed (.ci/run installs docker.io)'
  : process.getuid?.() !== 0
    ? 'dockerd needs root'
    : false;

describe('a Docker Engine started by the test', { skip: dockerSkip }, () => {
  let child: ChildProcess | undefined;
  let log = '';
  const sock = join(base, 'docker.sock');
  before(async () => {
    const dir = join(base, 'docker');
    mkdirSync(dir, { recursive: true });
    child = spawn(
      'dockerd',
      [
        '--data-root',
        join(dir, 'data'),
        '--exec-root',
        join(dir, 'exec'),
        '--pidfile',
        join(dir, 'docker.pid'),
        '-H',
        `unix://${sock}`,
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        '--storage-driver=overlay2',
        '--default-ulimit',
        'nofile=1024:1024',
        '--default-ulimit',
        'nproc=4096:4096',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    await waitFor(sock, child, () => log);
    const load = await api(sock, 'POST', '/images/load?quiet=1', archive);
    assert.equal(load.status, 200, load.text);
  });
  after(() => stop(child));

  it('scans an image by name through DOCKER_HOST, with the same findings as its archive', async () => {
    const r = await customsAsync(['image', 'docker-daemon:customs-test/alpine:3.7.3', '--format', 'json'], {
      env: { ...env, DOCKER_HOST: `unix://${sock}` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /read Docker Engine \d+\.\d+.* at unix:\/\//);
    const scan = JSON.parse(r.stdout);
    assert.equal(scan.image.kind, 'docker-daemon');
    assert.equal(scan.image.name, 'customs-test/alpine:3.7.3');
    assert.ok(ids(r.stdout).includes('musl CVE-2019-14697'));
    assert.deepEqual(ids(r.stdout), fromArchive);
  });

  it('an image the engine does not have is a clear error', async () => {
    const r = await customsAsync(['sbom', 'docker-daemon:nope:1'], {
      env: { ...env, DOCKER_HOST: `unix://${sock}` },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no image "nope:1" in Docker Engine/);
  });
});

const podmanSkip = !has('podman') ? 'podman is not installed (.ci/run installs it)' : false;

describe('podman system service started by the test', { skip: podmanSkip }, () => {
  let child: ChildProcess | undefined;
  let log = '';
  const sock = join(base, 'podman.sock');
  const dir = join(base, 'podman');
  const podmanEnv = () => ({ ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') });
  const storage = () => [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'run'),
    '--storage-driver',
    'vfs',
  ];
  before(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'containers.conf'),
      '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n',
    );
    const load = spawnSync('podman', [...storage(), 'load', '-i', join(base, 'image.tar')], {
      encoding: 'utf8',
      env: podmanEnv(),
    });
    assert.equal(load.status, 0, load.stderr);
    child = spawn('podman', [...storage(), 'system', 'service', '--time=0', `unix://${sock}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: podmanEnv(),
    });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    await waitFor(sock, child, () => log);
  });
  after(() => stop(child));

  it('scans an image by name through podman: and CONTAINER_HOST', async () => {
    const r = await customsAsync(['image', 'podman:customs-test/alpine:3.7.3', '--format', 'json'], {
      env: { ...env, CONTAINER_HOST: `unix://${sock}` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /read Podman \d+\.\d+.* at unix:\/\//);
    assert.deepEqual(ids(r.stdout), fromArchive);
  });

  it(
    'docker-daemon: falls back to Podman when no Docker socket answers, and says so',
    { skip: existsSync('/var/run/docker.sock') && 'this machine has a Docker socket' },
    async () => {
      const e: Record<string, string> = { ...env, CONTAINER_HOST: `unix://${sock}` };
      const r = await customsAsync(['sbom', 'docker-daemon:customs-test/alpine:3.7.3', '--format', 'json'], {
        env: { ...e, DOCKER_HOST: '' },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /read Podman/);
      assert.equal(JSON.parse(r.stdout).os.version, '3.7.3');
    },
  );
});

const containerdSkip =
  !has('containerd') || !has('ctr')
    ? 'containerd is not installed (.ci/run installs it with docker.io)'
    : process.getuid?.() !== 0
      ? 'containerd needs root'
      : false;

describe('containerd started by the test', { skip: containerdSkip }, () => {
  let child: ChildProcess | undefined;
  let log = '';
  const dir = join(base, 'ctd');
  const sock = join(dir, 'containerd.sock');
  before(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'config.toml'),
      `version = 2\nroot = "${join(dir, 'root')}"\nstate = "${join(dir, 'state')}"\n[grpc]\n  address = "${sock}"\n`,
    );
    child = spawn('containerd', ['--config', join(dir, 'config.toml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
    const imp = spawnSync('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'import', join(base, 'image.tar')], {
      encoding: 'utf8',
    });
    assert.equal(imp.status, 0, imp.stderr + log.slice(-1000));
  });
  after(() => stop(child));

  it('scans an image by its short name, found in the namespace Kubernetes uses', async () => {
    const r = await customsAsync(['image', 'containerd:customs-test/alpine:3.7.3', '--format', 'json'], {
      env: { ...env, CONTAINERD_ADDRESS: sock },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /read containerd at unix:\/\/.* \(namespace k8s\.io\)/);
    assert.equal(JSON.parse(r.stdout).image.name, 'docker.io/customs-test/alpine:3.7.3');
    assert.deepEqual(ids(r.stdout), fromArchive);
  });

  it(
    'docker-daemon: falls back to containerd when no Docker or Podman API answers',
    { skip: existsSync('/var/run/docker.sock') && 'this machine has a Docker socket' },
    async () => {
      const r = await customsAsync(['sbom', 'docker-daemon:customs-test/alpine:3.7.3', '--format', 'json'], {
        env: {
          ...env,
          CONTAINERD_ADDRESS: sock,
          DOCKER_HOST: '',
          CONTAINER_HOST: 'unix:///nonexistent.sock',
          XDG_RUNTIME_DIR: '/nonexistent',
        },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /read containerd/);
    },
  );

  it('an image containerd does not have is a clear error', async () => {
    const r = await customsAsync(['sbom', 'containerd:nope:1'], {
      env: { ...env, CONTAINERD_ADDRESS: sock },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no image "docker\.io\/library\/nope:1" in containerd/);
  });
});

describe('no engine at all', () => {
  it('says which sockets were tried and what to do', () => {
    const r = customs(['sbom', 'podman:app:1'], {
      env: { CONTAINER_HOST: 'unix:///nonexistent/podman.sock', XDG_RUNTIME_DIR: '/nonexistent' },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no Podman API answered; tried unix:\/\/\/nonexistent\/podman\.sock \(absent\)/);
  });
});
