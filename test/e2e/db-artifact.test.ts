import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contentDigest } from '../../src/vulndb/delta.js';
import { gunzipSync } from 'node:zlib';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { dockerArchive } from '../helpers/image-writer.js';
import { CLI, shared } from '../helpers/paths.js';
import { freePort, Registry } from '../helpers/registry.js';
import { customs, customsAsync, has } from '../helpers/run.js';

// The database delivered as a signed OCI artifact with deltas, against Debian's docker-registry
// on 127.0.0.1, with keys made by openssl as a publisher would make them.

const run = has('docker-registry') && has('openssl') && has('zstd') ? describe : describe.skip;

let tmp: string;
let alpine: string;
let reg: Registry;
let ref: string;
const key = (n: string) => join(tmp, 'keys', n);
const pubDb = () => join(tmp, 'publisher', 'customs.db');

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A client environment: its own cache folder, trusting the test's publisher key. */
function client(name: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    XDG_CACHE_HOME: join(tmp, 'clients', name),
    CUSTOMS_DB: '',
    CUSTOMS_DB_REPOSITORY: ref,
    CUSTOMS_DB_TRUST_KEYS: key('publisher.pub'),
    ...extra,
  };
}
const clientDb = (name: string) => join(tmp, 'clients', name, 'customs', 'db', 'customs.db');

function status(env: NodeJS.ProcessEnv) {
  const r = customs(['db', 'status', '--json'], { env });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { version: string; origin: string; advisories: unknown; sources: unknown };
}

/** The one-line error of a refused command: no stack trace. */
function refused(r: { status: number | null; stderr: string }, re: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
}

function leftovers(dbFile: string): string[] {
  const dir = join(dbFile, '..');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n !== 'customs.db') : [];
}

function publish(bundle: string, extra: string[] = []) {
  const r = customs(['db', 'publish', bundle, ref, '--key', key('publisher.key'), '--insecure', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

let v1: string;
let v2: string;
let v2Full: string;
let deltaBytes: number;

before(async () => {
  if (!has('docker-registry')) return;
  tmp = mkdtempSync(join(tmpdir(), 'customs-dbart-'));
  mkdirSync(join(tmp, 'keys'));
  openssl('genpkey', '-algorithm', 'ed25519', '-out', key('publisher.key'));
  openssl('pkey', '-in', key('publisher.key'), '-pubout', '-out', key('publisher.pub'));
  openssl('genpkey', '-algorithm', 'ed25519', '-out', key('stranger.key'));
  alpine = join(tmp, 'alpine-3.7.3.tar');
  writeFileSync(
    alpine,
    await dockerArchive({
      layers: [gunzipSync(readFileSync(shared('images/alpine/alpine-minirootfs-3.7.3-x86_64.tar.gz')))],
      tag: 'alpine:3.7.3',
    }),
  );
  reg = new Registry(join(tmp, 'registry'), await freePort());
  await reg.start();
  ref = `${reg.host}/sec/customs-db`;
  // Version 1: built from the real advisories beside the project.
  const b = customs(
    [
      'db',
      'build',
      shared('advisories/alpine-secdb'),
      shared('advisories/pypi-osv'),
      shared('advisories/go-osv'),
      shared('kev'),
      '--output',
      join(tmp, 'v1.tar.zst'),
    ],
    { env: { CUSTOMS_DB: pubDb() } },
  );
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /unsigned/);
  const signed = customs(['db', 'export', join(tmp, 'v1-signed.tar.zst'), '--key', key('publisher.key')], {
    env: { CUSTOMS_DB: pubDb() },
  });
  assert.equal(signed.status, 0, signed.stderr);
  const out = publish(join(tmp, 'v1.tar.zst'));
  assert.match(out, /no delta/);
  v1 = /version (\S+),/.exec(out)![1];
});
after(async () => {
  await reg?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

run('the database as a signed OCI artifact', () => {
  it('a fresh cache pulls, verifies and scans with the published version', () => {
    const env = client('fresh');
    const r = customs(['image', alpine, '--format', 'json', '--insecure'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no vulnerability database yet; pulling it from /);
    assert.match(r.stderr, new RegExp(`database version ${v1.replace(/\./g, '\\.')} installed`));
    const result = JSON.parse(r.stdout);
    assert.equal(result.database.version, v1);
    assert.match(result.database.origin, new RegExp(`^${reg.host}/sec/customs-db@sha256:[a-f0-9]{64}$`));
    assert.ok(result.findings.length > 0, 'Alpine 3.7.3 has known vulnerabilities');
    const s = status(env);
    assert.equal(s.version, v1);
    assert.equal(s.origin, result.database.origin);
    // Asked again: nothing to fetch.
    const again = customs(['db', 'update', '--insecure'], { env });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /is current: version/);
  });

  it('a new version travels as a delta: only the delta is fetched, and the rows equal a full download', () => {
    // Version 2: an ecosystem added, two advisories removed, one modified.
    const mod = join(tmp, 'modified');
    mkdirSync(mod);
    const rec = JSON.parse(readFileSync(shared('advisories/go-osv/GO-2020-0001.json'), 'utf8'));
    rec.modified = '2026-11-30T00:00:00Z';
    rec.summary = 'A summary changed upstream';
    writeFileSync(join(mod, 'GO-2020-0001.json'), JSON.stringify(rec));
    const db = new Database(pubDb());
    for (const t of ['affected', 'aliases', 'advisories'])
      db.prepare(`DELETE FROM ${t} WHERE source = 'osv' AND id IN ('GO-2020-0003', 'GO-2020-0004')`).run();
    db.close();
    v2Full = join(tmp, 'v2.tar.zst');
    const b = customs(['db', 'build', shared('advisories/rustsec-osv'), mod, '--output', v2Full], {
      env: { CUSTOMS_DB: pubDb() },
    });
    assert.equal(b.status, 0, b.stderr);
    const out = publish(v2Full, ['--previous', join(tmp, 'v1.tar.zst')]);
    const m = /version (\S+), full (\d+) bytes, delta from (\S+) (\d+) bytes/.exec(out);
    assert.ok(m, out);
    v2 = m[1];
    assert.equal(m[3], v1);
    deltaBytes = Number(m[4]);
    assert.ok(deltaBytes < Number(m[2]) / 3, `delta ${deltaBytes} bytes against full ${m[2]}`);

    // The client from the first test holds v1: it fetches exactly the delta's bytes.
    const env = client('fresh');
    const u = customs(['db', 'update', '--insecure'], { env });
    assert.equal(u.status, 0, u.stderr);
    assert.match(
      u.stdout,
      new RegExp(`updated to version ${v2.replace(/\./g, '\\.')} .*: 1 delta, ${deltaBytes} bytes fetched`),
    );
    // Another client downloads the whole of v2.
    const full = client('full');
    const f = customs(['db', 'update', '--insecure'], { env: full });
    assert.equal(f.status, 0, f.stderr);
    assert.match(f.stdout, /the whole database/);
    const a = new Database(clientDb('fresh'), { readonly: true });
    const c = new Database(clientDb('full'), { readonly: true });
    try {
      assert.equal(contentDigest(a), contentDigest(c));
      const q = "SELECT summary FROM advisories WHERE id = 'GO-2020-0001'";
      assert.deepEqual(a.prepare(q).get(), { summary: 'A summary changed upstream' });
      assert.equal(
        (a.prepare("SELECT COUNT(*) AS n FROM advisories WHERE id = 'GO-2020-0003'").get() as { n: number })
          .n,
        0,
      );
      assert.ok(
        (a.prepare("SELECT COUNT(*) AS n FROM affected WHERE eco_base = 'crates.io'").get() as { n: number })
          .n > 0,
      );
    } finally {
      a.close();
      c.close();
    }
    assert.deepEqual(status(env).sources, status(full).sources);
    assert.deepEqual(status(env).advisories, status(full).advisories);
    assert.deepEqual(leftovers(clientDb('fresh')), []);
  });

  it('db verify checks the bundle for an air-gapped hand-over; db import installs it', () => {
    const signed = join(tmp, 'signed.tar.zst');
    const e = customs(['db', 'export', signed, '--key', key('publisher.key')], {
      env: { CUSTOMS_DB: pubDb() },
    });
    assert.equal(e.status, 0, e.stderr);
    const v = customs(['db', 'verify', signed, '--trust-key', key('publisher.pub')]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /: OK\nkind {7}full\nversion {4}\S+\nschema {5}1\nsigned by {2}key [0-9a-f]{16}/);
    const site = join(tmp, 'site-b', 'customs.db');
    const i = customs(['db', 'import', signed, '--trust-key', key('publisher.pub')], {
      env: { CUSTOMS_DB: site },
    });
    assert.equal(i.status, 0, i.stderr);
    assert.match(i.stdout, /installed \(signed by key [0-9a-f]{16}; checksums verified\)/);
    // Unsigned: refused unless the user says so.
    const u = customs(['db', 'import', join(tmp, 'v1.tar.zst')], { env: { CUSTOMS_DB: site } });
    refused(u, /v1\.tar\.zst: the database bundle is not signed; refused|is not signed; refused/);
    // v1 is older than what the site holds now: a rollback, installed only when asked for.
    refused(
      customs(['db', 'import', join(tmp, 'v1.tar.zst'), '--allow-unsigned'], { env: { CUSTOMS_DB: site } }),
      /older than the local \S+: a rollback; refused/,
    );
    const ok = customs(['db', 'import', join(tmp, 'v1.tar.zst'), '--allow-unsigned', '--allow-downgrade'], {
      env: { CUSTOMS_DB: site },
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /unsigned; checksums verified/);
  });

  it('tampered, untrusted and wrong-schema artifacts are refused and the old database stays', async () => {
    const env = client('fresh');
    const before = status(env);
    const dir = join(tmp, 'tamper');
    mkdirSync(dir);
    execFileSync('sh', ['-c', `zstd -dcq '${join(tmp, 'signed.tar.zst')}' | tar -x -C '${dir}'`]);
    const repack = (name: string, files = ['manifest.json', 'signatures.json', 'customs.db']) => {
      const out = join(tmp, name);
      execFileSync('sh', ['-c', `tar -c -C '${dir}' ${files.join(' ')} | zstd -q -f -o '${out}'`]);
      return out;
    };
    const trust = ['--trust-key', key('publisher.pub')];
    // One flipped byte in the database.
    const dbFile = join(dir, 'customs.db');
    const orig = readFileSync(dbFile);
    const flipped = Buffer.from(orig);
    flipped[flipped.length >> 1] ^= 0x01;
    writeFileSync(dbFile, flipped);
    const t1 = repack('flipped.tar.zst');
    writeFileSync(dbFile, orig);
    refused(
      customs(['db', 'verify', t1, ...trust]),
      /checksum mismatch: the manifest says [0-9a-f]{64}.*refused/,
    );
    refused(customs(['db', 'update', '--db-repository', t1], { env }), /checksum mismatch/);
    // The manifest changed after signing (a schema major this Customs does not read would be
    // refused too, but the signature fails first): then signed properly with the wrong major.
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, sources: [] }, null, 2) + '\n');
    refused(
      customs(['db', 'verify', repack('edited.tar.zst'), ...trust]),
      /signature by key [0-9a-f]{16} does not verify \(tampered\?\); refused/,
    );
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ ...manifest, schemaVersion: 2 }, null, 2) + '\n',
    );
    refused(
      customs(['db', 'verify', repack('schema2.tar.zst', ['manifest.json', 'customs.db']), ...trust]),
      /holds database schema 2; this Customs needs 1/,
    );
    // Signed by a key nobody trusts, pushed to the repository as a newer version.
    const stranger = join(tmp, 'stranger.tar.zst');
    const s = customs(['db', 'export', stranger, '--key', key('stranger.key')], {
      env: { CUSTOMS_DB: pubDb() },
    });
    assert.equal(s.status, 0, s.stderr);
    const evil = `${reg.host}/evil/customs-db`;
    const p = customs(['db', 'publish', stranger, evil, '--key', key('stranger.key'), '--insecure']);
    assert.equal(p.status, 0, p.stderr);
    refused(
      customs(['db', 'update', '--db-repository', evil, '--insecure'], { env: client('stranger') }),
      /signed by key [0-9a-f]{16}, which is not trusted here; refused/,
    );
    assert.equal(existsSync(clientDb('stranger')), false);
    // A blob changed in the registry's own storage.
    const victim = `${reg.host}/victim/customs-db`;
    assert.equal(
      customs(['db', 'publish', v2Full, victim, '--key', key('publisher.key'), '--insecure']).status,
      0,
    );
    // (publish re-signed v2, so the stored full layer is found through the manifest)
    const res = await fetch(`http://${reg.host}/v2/victim/customs-db/manifests/1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const layer = ((await res.json()) as { layers: Array<{ digest: string }> }).layers[0].digest.slice(7);
    const data = join(reg.storage, 'docker/registry/v2/blobs/sha256', layer.slice(0, 2), layer, 'data');
    // (the same blob backs the other repositories: it is put back afterwards)
    const good = readFileSync(data);
    const bytes = Buffer.from(good);
    bytes[100] ^= 0xff;
    writeFileSync(data, bytes);
    try {
      refused(
        customs(['db', 'update', '--db-repository', victim, '--insecure'], { env: client('victim') }),
        /does not match its digest/,
      );
    } finally {
      writeFileSync(data, good);
    }
    assert.equal(existsSync(clientDb('victim')), false);
    // Through it all, the client's database stayed as it was.
    assert.deepEqual(status(env), before);
    assert.deepEqual(leftovers(clientDb('fresh')), []);
  });

  it('kill -9 while downloading or applying leaves the old database usable and no leftovers after the next run', async () => {
    // A client at v1 (installed from a signed file, as on an air-gapped site), then updates to
    // v2 that are killed. An unsigned file is refused first.
    const env = client('killed');
    refused(
      customs(['db', 'update', '--db-repository', join(tmp, 'v1.tar.zst')], { env }),
      /is not signed; refused/,
    );
    const i = customs(['db', 'update', '--db-repository', join(tmp, 'v1-signed.tar.zst')], { env });
    assert.equal(i.status, 0, i.stderr);
    const file = clientDb('killed');
    const v1Status = status(env);
    assert.equal(v1Status.version, v1);

    // During the download: the registry behind a proxy that never answers for blobs.
    const proxy = new FaultProxy({ host: '127.0.0.1', port: reg.port });
    const res = await fetch(`http://${reg.host}/v2/sec/customs-db/manifests/1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const layers = ((await res.json()) as { layers: Array<{ digest: string }> }).layers.map((l) => l.digest);
    assert.equal(layers.length, 2, 'full and delta');
    proxy.decide = (req) => (layers.some((d) => req.path.endsWith(`/blobs/${d}`)) ? 'hang' : 'pass');
    await proxy.start();
    const killedAt = async (what: RegExp, args: string[]) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      const dir = join(file, '..');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} file appeared`)), 30_000);
        const w = watch(dir, (_e, name) => {
          if (name && what.test(String(name)) && String(name).includes(String(child.pid))) {
            child.kill('SIGKILL');
            w.close();
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await new Promise((r) => child.once('exit', r));
      assert.equal(child.signalCode, 'SIGKILL');
    };
    await killedAt(/\.download-/, [
      'db',
      'update',
      '--db-repository',
      `${proxy.host}/sec/customs-db`,
      '--insecure',
    ]);
    await proxy.stop();
    assert.equal(status(env).version, v1, 'the old database is in use');
    // During the apply: the private copy exists while the delta goes in.
    await killedAt(/\.tmp-/, ['db', 'update', '--insecure']);
    assert.equal(status(env).version, v1, 'the old database is in use');
    assert.ok(leftovers(file).length > 0, 'the killed runs left their files');
    // The next run cleans up and finishes.
    const next = await customsAsync(['db', 'update', '--insecure'], { env });
    assert.equal(next.status, 0, next.stderr);
    assert.equal(status(env).version, v2);
    assert.deepEqual(leftovers(file), []);
  });

  it('two updates at once take turns', async () => {
    const env = client('twins');
    const [a, b] = await Promise.all([
      customsAsync(['db', 'update', '--insecure'], { env }),
      customsAsync(['db', 'update', '--insecure'], { env }),
    ]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const said = [a.stdout, b.stdout].join('');
    assert.match(said, /updated to version/);
    assert.match(said, /is current/);
    assert.equal(status(env).version, v2);
    assert.deepEqual(leftovers(clientDb('twins')), []);
  });

  it('a missing repository or an offline mirror falls through to the next one, with every error said', () => {
    const env = client('mirrors');
    const r = customs(
      [
        'db',
        'update',
        '--db-repository',
        '127.0.0.1:9/none/customs-db',
        '--db-repository',
        ref,
        '--insecure',
      ],
      { env },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(status(env).version, v2);
    const bad = customs(
      ['db', 'update', '--db-repository', '127.0.0.1:9/none/customs-db', '--insecure', '--timeout', '2'],
      {
        env: client('nowhere'),
      },
    );
    refused(bad, /connection refused/);
    // The same from the user's config file: mirrors in order, and a key relative to the file.
    const conf = join(tmp, 'config-home', 'customs');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'db.pub'), readFileSync(key('publisher.pub')));
    writeFileSync(
      join(conf, 'config.yaml'),
      `dbRepositories: [127.0.0.1:9/none/customs-db, ${ref}]\ndbTrustKeys: [db.pub]\n`,
    );
    const byConfig = client('by-config', {
      XDG_CONFIG_HOME: join(tmp, 'config-home'),
      CUSTOMS_DB_REPOSITORY: '',
      CUSTOMS_DB_TRUST_KEYS: '',
    });
    const c = customs(['db', 'update', '--insecure', '--timeout', '2'], { env: byConfig });
    assert.equal(c.status, 0, c.stderr);
    assert.equal(status(byConfig).version, v2);
  });

  it('--keep prunes old versions; a client two versions behind chains two deltas', async () => {
    const db = new Database(pubDb());
    db.prepare("UPDATE advisories SET summary = 'v3' WHERE id = 'GO-2020-0001'").run();
    db.close();
    const v3File = join(tmp, 'v3.tar.zst');
    const rebuilt = customs(['db', 'build', join(tmp, 'modified'), '--output', v3File], {
      env: { CUSTOMS_DB: pubDb() },
    });
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    const out = publish(v3File, ['--keep', '2']);
    assert.match(out, /delta from .*; 1 old version\(s\) deleted/);
    const tag = (v: string) => `1-${v.replace(/[^\w.-]/g, '-')}`;
    const head = async (v: string) =>
      (
        await fetch(`http://${reg.host}/v2/sec/customs-db/manifests/${tag(v)}`, {
          method: 'HEAD',
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).status;
    assert.equal(await head(v1), 404);
    assert.equal(await head(v2), 200);
    // A client at v2 takes the one delta; a client at v1 chains v2's delta (from v1, kept in v2's
    // artifact) and v3's, and ends where a whole download does.
    const near = customs(['db', 'update', '--insecure'], { env: client('mirrors') });
    assert.match(near.stdout, /: 1 delta, /);
    const far = client('far');
    assert.equal(
      customs(['db', 'update', '--db-repository', join(tmp, 'v1-signed.tar.zst')], { env: far }).status,
      0,
    );
    const u = customs(['db', 'update', '--insecure'], { env: far });
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, /: 2 deltas, /);
    assert.equal(status(far).version, status(client('mirrors')).version);
    const x = new Database(clientDb('far'), { readonly: true });
    const y = new Database(clientDb('mirrors'), { readonly: true });
    try {
      assert.equal(contentDigest(x), contentDigest(y));
    } finally {
      x.close();
      y.close();
    }
  });
});
