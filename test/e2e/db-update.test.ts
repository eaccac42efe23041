import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import YAML from 'yaml';
import { FeedServer } from '../helpers/feed-server.js';
import { shared } from '../helpers/paths.js';
import { customsAsync as customs } from '../helpers/run.js';

const adv = (...p: string[]) => shared('advisories', ...p);
let tmp: string;
const server = new FeedServer();
let env: Record<string, string>;

function zipOf(name: string, dir: string, files: string[]): Buffer {
  const zip = join(tmp, name);
  execFileSync('python3', ['-m', 'zipfile', '-c', zip, ...files.map((f) => join(dir, f))]);
  return readFileSync(zip);
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-update-'));
  await server.start();
  const go = zipOf(
    'go.zip',
    adv('go-osv'),
    readdirSync(adv('go-osv')).filter((f) => f.endsWith('.json')),
  );
  const rust = zipOf('rust.zip', adv('rustsec-osv', 'crates'), readdirSync(adv('rustsec-osv', 'crates')));
  server.routes.set('/Go/all.zip', { body: go });
  server.routes.set('/crates.io/all.zip', { body: rust });
  server.routes.set('/npm/all.zip', { status: 500 });
  server.routes.set('/sites/default/files/feeds/known_exploited_vulnerabilities.json', {
    body: readFileSync(shared('kev/known_exploited_vulnerabilities.json')),
  });
  server.routes.set('/v3.10/main.yaml', { body: readFileSync(adv('alpine-secdb/v3.10/main.yaml')) });
  server.routes.set('/v3.11/main.yaml', { body: readFileSync(adv('alpine-secdb/v3.11/main.yaml')) });
  // Small feeds of our own, in the upstream formats.
  const epss =
    '#model_version:v2025.03.14,score_date:2026-11-23T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99961\nCVE-2019-14697,0.01234,0.71000\n';
  server.routes.set('/epss_scores-current.csv.gz', { body: gzipSync(epss) });
  const nvd = JSON.stringify({
    format: 'NVD_CVE',
    version: '2.0',
    vulnerabilities: [
      {
        cve: {
          id: 'CVE-2019-14697',
          published: '2019-08-06T16:15:11.337',
          descriptions: [
            {
              lang: 'en',
              value: 'musl libc through 1.1.23 has an x87 floating-point stack adjustment imbalance',
            },
          ],
          metrics: {
            cvssMetricV31: [
              {
                source: 'nvd@nist.gov',
                type: 'Primary',
                cvssData: {
                  version: '3.1',
                  vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
                  baseScore: 9.8,
                  baseSeverity: 'CRITICAL',
                },
              },
            ],
          },
          weaknesses: [
            { source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: 'CWE-787' }] },
          ],
        },
      },
    ],
  });
  server.routes.set('/feeds/json/cve/2.0/nvdcve-2.0-2019.json.gz', { body: gzipSync(nvd) });
  server.routes.set('/feeds/json/cve/2.0/nvdcve-2.0-2019.meta', {
    body: Buffer.from(
      `lastModifiedDate:2026-11-23T03:00:01-05:00\nsize:${nvd.length}\nsha256:${createHash('sha256').update(nvd).digest('hex').toUpperCase()}\n`,
    ),
  });
  const sources = join(tmp, 'sources.json');
  writeFileSync(
    sources,
    JSON.stringify({
      'alpine-secdb': [
        'https://secdb.alpinelinux.org/v3.10/main.yaml',
        'https://secdb.alpinelinux.org/v3.11/main.yaml',
      ],
      nvd: ['https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-2019.json.gz'],
    }),
  );
  env = { CUSTOMS_DB: join(tmp, 'db', 'customs.db'), CUSTOMS_MIRROR: server.url, CUSTOMS_SOURCES: sources };
});
after(async () => {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const ONLY = 'osv:Go,osv:crates.io,osv:npm,alpine-secdb,kev,epss,nvd';
const status = async () => JSON.parse((await customs(['db', 'status', '--json'], { env })).stdout);

describe('db update against a feed server on 127.0.0.1', () => {
  it('downloads every source; one failing source (HTTP 500) is reported and does not stop the rest', async () => {
    const r = await customs(['db', 'update', '--only', ONLY, '--timeout', '5'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /osv:Go: updated \(4291 records\)/);
    assert.match(r.stdout, /alpine-secdb: updated/);
    assert.match(r.stdout, /kev: updated \(\d+ records\)/);
    assert.match(r.stdout, /epss: updated \(2 records\)/);
    assert.match(r.stdout, /nvd: updated \(1 records\)/);
    assert.match(r.stderr, /osv:npm: failed — .*HTTP 500.*previous data is kept/);
    const show = JSON.parse((await customs(['db', 'show', 'CVE-2019-14697', '--json'], { env })).stdout);
    assert.equal(show.enrichment[0].epss.score, 0.01234);
    assert.equal(show.enrichment[0].nvd.cwes[0], 'CWE-787');
    const s = await status();
    assert.equal(s.sources.find((x: { name: string }) => x.name === 'osv:npm').status, 'error');
  });

  it('a second run sends conditional requests: 304s, nothing re-imported', async () => {
    server.hits.length = 0;
    const r = await customs(['db', 'update', '--only', ONLY], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /osv:Go: unchanged/);
    assert.match(r.stdout, /kev: unchanged/);
    assert.ok(server.hits.filter((h) => h.path === '/Go/all.zip').every((h) => h.status === 304));
  });

  it('a download cut off mid-transfer resumes with a Range request', async () => {
    const go = server.routes.get('/Go/all.zip')!.body!;
    // A new upstream file (fewer records), whose first transfer breaks half way.
    const smaller = zipOf(
      'go-small.zip',
      adv('go-osv'),
      readdirSync(adv('go-osv'))
        .filter((f) => f.endsWith('.json'))
        .slice(0, 4000),
    );
    server.routes.set('/Go/all.zip', { body: smaller, cutAt: Math.floor(smaller.length / 2) });
    server.hits.length = 0;
    const r = await customs(['db', 'update', '--only', 'osv:Go', '--timeout', '5'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /osv:Go: updated \(4000 records\)/);
    assert.deepEqual(
      server.hits.filter((h) => h.path === '/Go/all.zip').map((h) => h.status),
      [200, 206],
    );
    server.routes.set('/Go/all.zip', { body: go });
    const back = await customs(['db', 'update', '--only', 'osv:Go'], { env });
    assert.match(back.stdout, /osv:Go: updated \(4291 records\)/);
  });

  it('a checksum mismatch fails that source and keeps its previous data', async () => {
    server.routes.set('/feeds/json/cve/2.0/nvdcve-2.0-2019.json.gz', {
      body: gzipSync('{"vulnerabilities":[]}'),
    });
    const r = await customs(['db', 'update', '--only', 'nvd', '--timeout', '5'], { env });
    assert.equal(r.status, 1, 'every selected source failed');
    assert.match(r.stderr, /nvd: failed — .*checksum mismatch/);
    const show = JSON.parse((await customs(['db', 'show', 'CVE-2019-14697', '--json'], { env })).stdout);
    assert.equal(show.enrichment[0].nvd.cwes[0], 'CWE-787', 'the previous NVD data is still there');
    assert.equal((await status()).sources.find((x: { name: string }) => x.name === 'nvd').status, 'error');
  });

  it('a zip that is complete but corrupt fails at import, with the previous data kept', async () => {
    const go = server.routes.get('/Go/all.zip')!.body!;
    server.routes.set('/Go/all.zip', { body: go.subarray(0, go.length - 100) });
    const r = await customs(['db', 'update', '--only', 'osv:Go'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /osv:Go: failed — .*(zip|central directory|end of)/i);
    assert.ok(
      (await status()).advisories.some(
        (a: { ecosystem: string; advisories: number }) => a.ecosystem === 'Go' && a.advisories === 4291,
      ),
    );
    server.routes.set('/Go/all.zip', { body: go });
  });
});

describe('upstream indexes and partial sources', () => {
  let denv: Record<string, string>;
  const secdbJson = (branch: string) =>
    Buffer.from(JSON.stringify(YAML.parse(readFileSync(adv('alpine-secdb', branch, 'main.yaml'), 'utf8'))));
  before(() => {
    // OSV's list of ecosystems and secdb's folder index, in their upstream shapes.
    server.routes.set('/ecosystems.txt', { body: Buffer.from('Go\ncrates.io\nDebian:12\nDebian\n') });
    server.routes.set('/', {
      body: Buffer.from(
        '<html><body><h1>Index of /</h1><pre><a href="../">../</a>\n<a href="v3.10/">v3.10/</a>   01-Jan-2026\n<a href="v3.11/">v3.11/</a>   01-Jan-2026\n<a href="v3.99/">v3.99/</a>\n</pre></body></html>',
      ),
    });
    server.routes.set('/v3.10/main.json', { body: secdbJson('v3.10') });
    server.routes.set('/v3.11/main.json', { body: secdbJson('v3.11') });
    server.routes.set('/Debian/all.zip', { status: 404 });
    denv = { CUSTOMS_DB: join(tmp, 'discover', 'customs.db'), CUSTOMS_MIRROR: server.url };
  });

  it("takes OSV's ecosystems and Alpine's branches from upstream's own index", async () => {
    server.hits.length = 0;
    const r = await customs(
      ['db', 'update', '--from-feeds', '--only', 'osv,alpine-secdb', '--timeout', '5'],
      { env: denv },
    );
    assert.equal(r.status, 0, r.stderr);
    // The ecosystems listed (releases like Debian:12 live in their base's zip), not the built-in list.
    const zips = [
      ...new Set(server.hits.filter((h) => h.path.endsWith('/all.zip')).map((h) => h.path)),
    ].sort();
    assert.deepEqual(zips, ['/Debian/all.zip', '/Go/all.zip', '/crates.io/all.zip']);
    assert.match(r.stdout, /osv:Go: updated \(4291 records\)/);
    // Branches from the index; v3.99 and every community file are missing upstream: left out, said.
    const branches = [
      ...new Set(server.hits.filter((h) => /^\/v3\.\d+\//.test(h.path)).map((h) => h.path.split('/')[1])),
    ];
    assert.deepEqual(branches.sort(), ['v3.10', 'v3.11', 'v3.99']);
    assert.match(r.stdout, /alpine-secdb: updated \(\d+ records\)/);
    assert.match(r.stderr, /warning: alpine-secdb: .*v3\.99\/main\.json: .*HTTP 404.*left out this time/);
    assert.match(r.stderr, /osv:Debian: failed/);
  });

  it('one Alpine branch failing keeps its last good copy; the others still update', async () => {
    const before = JSON.parse((await customs(['db', 'status', '--json'], { env: denv })).stdout);
    const count = before.sources.find((s: { name: string }) => s.name === 'alpine-secdb').records;
    server.routes.set('/v3.11/main.json', { status: 500 });
    const doc = JSON.parse(secdbJson('v3.10').toString());
    doc.packages = doc.packages.slice(0, -1); // v3.10 changed upstream: one package fewer
    server.routes.set('/v3.10/main.json', { body: Buffer.from(JSON.stringify(doc)) });
    const r = await customs(['db', 'update', '--from-feeds', '--only', 'alpine-secdb', '--timeout', '5'], {
      env: denv,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /v3\.11\/main\.json: .*HTTP 500.*its last good copy is used/);
    const after = JSON.parse((await customs(['db', 'status', '--json'], { env: denv })).stdout);
    const src = after.sources.find((s: { name: string }) => s.name === 'alpine-secdb');
    assert.equal(src.status, 'ok');
    assert.ok(
      src.records < count && src.records > count / 2,
      `${src.records} of ${count}: v3.11 kept, v3.10 shrank`,
    );
    server.routes.set('/v3.11/main.json', { body: secdbJson('v3.11') });
  });

  it('several inputs of one source add up in db status', async () => {
    const file = join(tmp, 'sum', 'customs.db');
    const go = readdirSync(adv('go-osv')).filter((f) => f.endsWith('.json'));
    const extra = join(tmp, 'extra-go');
    mkdirSync(extra);
    const rec = JSON.parse(readFileSync(adv('go-osv', go[0]), 'utf8'));
    writeFileSync(
      join(extra, 'GO-2099-0001.json'),
      JSON.stringify({ ...rec, id: 'GO-2099-0001', aliases: [] }),
    );
    assert.equal(
      (await customs(['db', 'import', adv('go-osv'), '-q'], { env: { CUSTOMS_DB: file } })).status,
      0,
    );
    assert.equal((await customs(['db', 'import', extra, '-q'], { env: { CUSTOMS_DB: file } })).status, 0);
    const s = JSON.parse((await customs(['db', 'status', '--json'], { env: { CUSTOMS_DB: file } })).stdout);
    assert.equal(s.sources.find((x: { name: string }) => x.name === 'osv:Go').records, go.length + 1);
  });
});
