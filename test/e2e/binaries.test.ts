import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLASSIFIERS } from '../../src/catalog/binaries/classifiers.js';
import { binaryVersionProbe } from '../../src/catalog/binaries/index.js';
import { dockerArchive, makeTar, type TarEntry } from '../helpers/image-writer.js';
import { cacheDir } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

// Real binaries from Debian's packages (downloaded with apt-get once, cached), placed in
// /usr/local of a test image, outside dpkg's file lists, the way official images ship their main
// component. The expected versions come from each package's own dpkg metadata.
const PACKAGES = {
  nodejs: 'nodejs',
  libnode: 'libnode108',
  python: 'python3.11-minimal',
  redis: 'redis-tools',
  nginx: 'nginx',
  httpd: 'apache2-bin',
  php: 'php8.2-cli',
  ruby: 'libruby3.1',
  openssl: 'openssl',
  curl: 'curl',
  busybox: 'busybox',
  postgresql: 'postgresql-15',
} as const;

const dir = cacheDir('debian-binaries');
let skip: string | false = !has('apt-get') || !has('dpkg-deb') ? 'apt-get and dpkg-deb are needed' : false;
const debs: Record<string, string> = {};

/** `1:7.0.15-1~deb12u10` → 7.0.15; `3.1.7+really3.1.2-0+deb12u1` → 3.1.2; `18.20.4+dfsg-1` → 18.20.4. */
function upstream(v: string): string {
  const noEpoch = v.replace(/^\d+:/, '');
  const really = /\+really([^-]+)/.exec(noEpoch)?.[1];
  return (really ?? noEpoch.replace(/-[^-]*$/, '')).replace(/[+~].*$/, '');
}

before(() => {
  if (skip) return;
  const have = () => readdirSync(dir).filter((f) => f.endsWith('.deb'));
  const name = (f: string) => f.split('_')[0];
  const missing = Object.values(PACKAGES).filter((p) => !have().some((f) => name(f) === p));
  if (missing.length) {
    // The Debian release's own nodejs, not another source's newer one that may be installed here.
    const pins = missing.map((p) => {
      if (p !== 'nodejs') return p;
      const madison = spawnSync('apt-cache', ['madison', 'nodejs'], { encoding: 'utf8' }).stdout;
      const line = madison.split('\n').find((l) => /debian/.test(l));
      return line ? `nodejs=${line.split('|')[1].trim()}` : p;
    });
    const r = spawnSync('apt-get', ['download', ...pins], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) {
      skip = `apt-get download failed (offline?): ${r.stderr.split('\n').find((l) => l.startsWith('E:')) ?? r.status}`;
      return;
    }
  }
  for (const [key, pkg] of Object.entries(PACKAGES)) {
    const f = have().find((x) => name(x) === pkg)!;
    debs[key] = join(dir, f);
    const out = join(dir, 'x', pkg);
    if (!existsSync(out)) {
      mkdirSync(out, { recursive: true });
      assert.equal(spawnSync('dpkg-deb', ['-x', debs[key], out]).status, 0);
    }
  }
});

const version = (key: keyof typeof PACKAGES) =>
  upstream(spawnSync('dpkg-deb', ['-f', debs[key], 'Version'], { encoding: 'utf8' }).stdout.trim());
const file = (pkg: string, path: string) => readFileSync(realpathSync(join(dir, 'x', pkg, path)));

let tmp: string;
let archive: string;
before(async () => {
  if (skip) return;
  tmp = join(tmpdir(), `customs-binaries-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const exe = (name: string, content: Buffer): TarEntry => ({ name, content, mode: 0o755 });
  const entries: TarEntry[] = [
    exe('usr/local/bin/node', file('nodejs', 'usr/bin/node')),
    exe('usr/local/lib/libnode.so.108', file('libnode108', 'usr/lib/x86_64-linux-gnu/libnode.so.108')),
    exe('usr/local/bin/python3.11', file('python3.11-minimal', 'usr/bin/python3.11')),
    exe('usr/local/bin/redis-server', file('redis-tools', 'usr/bin/redis-check-rdb')),
    exe('usr/local/nginx/sbin/nginx', file('nginx', 'usr/sbin/nginx')),
    exe('usr/local/apache2/bin/httpd', file('apache2-bin', 'usr/sbin/apache2')),
    exe('usr/local/bin/php', file('php8.2-cli', 'usr/bin/php8.2')),
    exe('usr/local/lib/libruby.so.3.1', file('libruby3.1', 'usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1')),
    exe('usr/local/bin/openssl', file('openssl', 'usr/bin/openssl')),
    exe('usr/local/bin/curl', file('curl', 'usr/bin/curl')),
    exe('usr/local/bin/busybox', file('busybox', 'bin/busybox')),
    exe('usr/local/pgsql/bin/postgres', file('postgresql-15', 'usr/lib/postgresql/15/bin/postgres')),
    // The same python binary where dpkg installed it: owned, so not reported a second time.
    exe('usr/bin/python3.11', file('python3.11-minimal', 'usr/bin/python3.11')),
    {
      name: 'var/lib/dpkg/status',
      content:
        'Package: python3.11-minimal\nStatus: install ok installed\nPriority: optional\nSection: python\nArchitecture: amd64\nSource: python3.11\nVersion: 3.11.2-6+deb12u9\nDescription: minimal python\n\n',
    },
    {
      name: 'var/lib/dpkg/info/python3.11-minimal.list',
      content: '/.\n/usr\n/usr/bin\n/usr/bin/python3.11\n',
    },
    {
      name: 'etc/os-release',
      content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
    },
  ];
  const jdk = '/usr/lib/jvm';
  const release = existsSync(jdk)
    ? readdirSync(jdk)
        .map((d) => join(jdk, d, 'release'))
        .find(existsSync)
    : undefined;
  if (release) entries.push({ name: 'opt/java/openjdk/release', content: readFileSync(release) });
  archive = join(tmp, 'binaries.tar');
  writeFileSync(archive, await dockerArchive({ layers: [await makeTar(entries)], tag: 'binaries:1' }));
});
after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

describe('binaries outside any package manager (real Debian binaries)', { skip: skip || undefined }, () => {
  it('identifies each main component with the version its Debian package says', (t) => {
    if (skip) return t.skip(skip);
    const r = customs(['sbom', archive, '--format', 'json'], {});
    assert.equal(r.status, 0, r.stderr);
    const found = (
      JSON.parse(r.stdout).packages as Array<{
        name: string;
        version: string;
        foundBy: string;
        purl: string;
        locations: Array<{ path: string }>;
      }>
    ).filter((p) => p.foundBy === 'binary');
    const at = (path: string) =>
      found.filter((p) => p.locations[0].path === path).map((p) => `${p.name}@${p.version}`);
    assert.deepEqual(at('/usr/local/lib/libnode.so.108'), [`node@${version('libnode')}`]);
    assert.deepEqual(at('/usr/local/bin/python3.11'), [`python@${version('python')}`]);
    assert.deepEqual(at('/usr/local/bin/redis-server'), [`redis@${version('redis')}`]);
    assert.deepEqual(at('/usr/local/nginx/sbin/nginx'), [`nginx@${version('nginx')}`]);
    assert.deepEqual(at('/usr/local/apache2/bin/httpd'), [`httpd@${version('httpd')}`]);
    assert.deepEqual(at('/usr/local/bin/php'), [`php@${version('php')}`]);
    assert.deepEqual(at('/usr/local/lib/libruby.so.3.1'), [`ruby@${version('ruby')}`]);
    assert.deepEqual(at('/usr/local/bin/openssl'), [`openssl@${version('openssl')}`]);
    assert.deepEqual(at('/usr/local/bin/curl'), [`curl@${version('curl')}`]);
    assert.deepEqual(at('/usr/local/bin/busybox'), [`busybox@${version('busybox')}`]);
    assert.deepEqual(at('/usr/local/pgsql/bin/postgres'), [`postgresql@${version('postgresql')}`]);
    // Debian's node launcher links libnode and carries no version of its own.
    assert.deepEqual(at('/usr/local/bin/node'), []);
    // dpkg's own copy is the dpkg package's, not a second python.
    assert.deepEqual(at('/usr/bin/python3.11'), []);
    for (const p of found) assert.equal(p.purl, `pkg:generic/${p.name}@${p.version}`);
  });

  it('reads the JDK release file of an OpenJDK home', (t) => {
    const jdk = '/usr/lib/jvm';
    const release = existsSync(jdk)
      ? readdirSync(jdk)
          .map((d) => join(jdk, d, 'release'))
          .find(existsSync)
      : undefined;
    if (skip || !release) return t.skip(skip || 'no JDK on this machine');
    const want = /JAVA_VERSION="([^"]+)"/.exec(readFileSync(release, 'utf8'))![1];
    const r = customs(['sbom', archive, '--format', 'json'], {});
    const jdkPkg = JSON.parse(r.stdout).packages.find((p: { name: string }) => p.name === 'openjdk');
    assert.equal(jdkPkg?.version, want);
  });
});

describe('binary classifiers', () => {
  it('a version string split across two chunks is still found', () => {
    const probe = binaryVersionProbe.create('usr/sbin/nginx');
    const bytes = Buffer.concat([
      Buffer.alloc(100_000, 7),
      Buffer.from('\x00nginx version: nginx/1.25.3\x00'),
      Buffer.alloc(5000),
    ]);
    for (let i = 0; i < bytes.length; i += 4099) probe.push(bytes.subarray(i, i + 4099));
    assert.deepEqual(probe.finish(), { nginx: '1.25.3' });
  });
  it('python: only a version of the minor its file name says', () => {
    const probe = binaryVersionProbe.create('usr/local/bin/python3.12');
    probe.push(Buffer.from('\x002.0.1\x00junk\x003.12.4\x00strict\x00'));
    assert.deepEqual(probe.finish(), { python: '3.12.4' });
  });
  it('files no classifier names are not read; every classifier has a version group', () => {
    assert.equal(binaryVersionProbe.wants('usr/bin/ls', 0o755, 1000), false);
    assert.equal(binaryVersionProbe.wants('usr/local/bin/redis-server', 0o755, 1000), true);
    for (const c of CLASSIFIERS) assert.match(c.pattern.source, /\(/, c.name);
  });
});
