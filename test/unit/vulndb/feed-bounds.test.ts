import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { download } from '../../../src/vulndb/download.js';
import { fetchIndex } from '../../../src/vulndb/sources.js';
import { updateDatabase } from '../../../src/vulndb/update.js';

/**
 * A hostile feed server: an endless body, a drip, and an NVD year whose gzip inflates far past
 * what it weighs. Every download of `db update --from-feeds` must end bounded in bytes and time.
 */
let tmp: string;
let server: Server;
let base = '';
const open = new Set<ServerResponse>();
const bomb = gzipSync(Buffer.alloc(256 * 1024 ** 2, 0x20)); // 256 MiB of spaces, ~250 KB

function endless(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-feedbounds-'));
  server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    if (req.url === '/endless/all.zip' || req.url === '/ecosystems.txt') return endless(res);
    if (req.url === '/drip/all.zip') {
      res.writeHead(200, { 'content-length': '100000' });
      const t = setInterval(() => res.write('a'), 100);
      return void res.on('close', () => clearInterval(t));
    }
    if (req.url === '/nvd/nvdcve-2.0-2020.json.gz') return void res.writeHead(200).end(bomb);
    if (req.url === '/nvd/nvdcve-2.0-2020.meta')
      return void res.writeHead(200).end(`sha256:${'0'.repeat(64)}\r\n`);
    if (req.url === '/small') return void res.writeHead(200, { etag: '"a"' }).end('hello');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  for (const r of open) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

const source = (name: string, url: string, checksum?: 'nvd-meta') => ({
  name,
  urls: [url],
  replaces: { source: name },
  ...(checksum ? { checksum } : {}),
});

describe('feed downloads against a hostile server on 127.0.0.1', () => {
  it('an endless body stops at the byte bound, fails that source and leaves no partial file', async () => {
    const db = join(tmp, 'endless', 'customs.db');
    const rssBefore = process.memoryUsage().rss;
    const [o] = await updateDatabase(db, [source('endless', `${base}/endless/all.zip`)], {
      maxBytes: 8 * 1024 ** 2,
      retries: 0,
    });
    assert.equal(o.status, 'failed');
    assert.match(o.error ?? '', /the body goes on past 8388608 bytes; refused/);
    assert.deepEqual(readdirSync(join(tmp, 'endless', 'downloads', 'endless')), []);
    assert.ok(process.memoryUsage().rss - rssBefore < 200 * 1024 ** 2);
  });

  it('a drip under the idle timeout ends at the deadline', async () => {
    const db = join(tmp, 'drip', 'customs.db');
    const t0 = Date.now();
    const [o] = await updateDatabase(db, [source('drip', `${base}/drip/all.zip`)], {
      deadlineMs: 1500,
      idleTimeoutMs: 1000,
      retries: 0,
    });
    assert.equal(o.status, 'failed');
    assert.match(o.error ?? '', /not downloaded within the deadline of 1\.5 s/);
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
  });

  it('an NVD gzip bomb is hashed as it inflates for its .meta check, never held whole', async () => {
    const db = join(tmp, 'nvd', 'customs.db');
    const rssBefore = process.memoryUsage().rss;
    const [o] = await updateDatabase(db, [source('nvd', `${base}/nvd/nvdcve-2.0-2020.json.gz`, 'nvd-meta')], {
      retries: 0,
    });
    assert.equal(o.status, 'failed');
    assert.match(o.error ?? '', /checksum mismatch/);
    // gunzipSync held all 256 MiB at once.
    assert.ok(process.memoryUsage().rss - rssBefore < 128 * 1024 ** 2);
  });

  it('a .part.json cut short by a kill starts the download over, not a SyntaxError', async () => {
    const file = join(tmp, 'small');
    writeFileSync(`${file}.part`, 'hel');
    writeFileSync(`${file}.part.json`, '{"url":');
    const r = await download(`${base}/small`, file, { retries: 0 });
    assert.equal(r.status, 'downloaded');
    assert.equal(readFileSync(file, 'utf8'), 'hello');
  });

  it("upstream's index is read with a cap as it arrives, not whole first", async () => {
    await assert.rejects(fetchIndex(`${base}/ecosystems.txt`, 10_000), /larger than 4 MiB/);
  });
});
