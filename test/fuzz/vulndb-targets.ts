import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { CompressStream } from 'zstd-napi';
import { readBundle, writeBundle, type DbManifest } from '../../src/vulndb/bundle.js';
import { cpeAffected } from '../../src/vulndb/importers/nvd.js';
import { maybeGunzip } from '../../src/vulndb/input.js';
import { streamArrayOf } from '../../src/vulndb/json-stream.js';
import { keyId } from '../../src/vulndb/signing.js';
import type { Target } from './targets.js';

/**
 * The database's own inputs: bundles (what a mirror serves), NVD years (streamed) and gzip feed
 * files, each seeded with a real-shaped input and with the bombs test/e2e/db-hostile.test.ts drives
 * through the CLI, scaled down to what a fuzz input can be.
 */

const dir = mkdtempSync(join(tmpdir(), 'customs-fuzz-db-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (b: Buffer, name: string) => {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, b);
  return p;
};

async function tarZst(entries: Array<{ name: string; body: Buffer; size?: number }>): Promise<Buffer> {
  const out = join(dir, `seed-${n++}.tar.zst`);
  const pack = tar.pack();
  const writing = pipeline(pack as unknown as Readable, new CompressStream(), createWriteStream(out));
  for (const e of entries) pack.entry({ name: e.name, size: e.body.length }, e.body);
  pack.finalize();
  await writing;
  return readFileSync(out);
}

export async function feedTargets(): Promise<Target[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keys = new Map([[keyId(publicKey), publicKey]]);
  const payload = Buffer.from('SQLite format 3\0'.padEnd(4096, '\0'));
  const manifest: DbManifest = {
    format: 'customs-db',
    formatVersion: 2,
    kind: 'full',
    schemaVersion: 1,
    version: '2026-12-01T00:00:00.000Z',
    expires: '2999-01-01T00:00:00.000Z',
    sources: [],
    tables: {},
    contentDigest: 'sha256:0',
    payload: {
      name: 'customs.db',
      size: payload.length,
      sha256: (await import('node:crypto')).createHash('sha256').update(payload).digest('hex'),
    },
  };
  const good = join(dir, 'good.tar.zst');
  await writeBundle(good, manifest, file(payload, 'payload.db'), [], [privateKey]);
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const bundleSeeds = [
    readFileSync(good),
    // Zeros ahead of the manifest.
    await tarZst([
      { name: 'padding', body: Buffer.alloc(1024 * 1024) },
      { name: 'manifest.json', body: manifestBytes },
    ]),
    // A payload of 1 MiB where the manifest says 4 KiB.
    await tarZst([
      { name: 'manifest.json', body: manifestBytes },
      { name: 'customs.db', body: Buffer.alloc(1024 * 1024) },
    ]),
  ];

  const nvdItem = (id: string, cpeMatch: unknown[], description = 'x') => ({
    cve: {
      id,
      descriptions: [{ lang: 'en', value: description }],
      configurations: [{ nodes: [{ operator: 'OR', cpeMatch }] }],
    },
  });
  const nvd = (items: unknown[]) =>
    Buffer.from(JSON.stringify({ format: 'NVD_CVE', version: '2.0', vulnerabilities: items }));
  const match = (i: number) => ({
    vulnerable: true,
    criteria: 'cpe:2.3:a:nodejs:node.js:*:*:*:*:*:*:*:*',
    versionStartIncluding: `${i % 30}.0.0`,
    versionEndExcluding: `${i % 30}.1.${i}`,
  });
  const nvdSeeds = [
    readFileSync(join(import.meta.dirname, '../../../test/fixtures/nvd/nvdcve-2.0-sample.json')),
    nvd([
      nvdItem(
        'CVE-2099-0001',
        Array.from({ length: 2000 }, (_, i) => match(i)),
      ),
    ]),
    nvd([nvdItem('CVE-2099-0002', [match(1)], 'y'.repeat(5 * 1024 * 1024))]),
  ];

  const osv = readFileSync(
    join(import.meta.dirname, '../../../../shared/data/advisories/go-osv/GO-2020-0001.json'),
  );
  // The bound scaled down to 1 MiB (db import's is 32 MiB), so that each mutated bomb is cheap.
  const gzipSeeds = [gzipSync(osv), gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20), { level: 9 })];

  return [
    {
      name: 'database bundle reader (manifest, signature, bounded zstd)',
      seeds: bundleSeeds,
      run: async (b) => {
        const out = join(dir, `payload-${n++}`);
        try {
          return (await readBundle(file(b, 'bundle.tar.zst'), out, keys)).manifest.version;
        } finally {
          rmSync(out, { force: true });
        }
      },
    },
    {
      // A CustomsError (a bound, an unreadable feed) is what db import reports; anything else crashes.
      name: 'NVD year, streamed with per-string and per-element bounds',
      seeds: nvdSeeds,
      anyErrorIsFine: true,
      run: async (b) => {
        let products = 0;
        // stream-json parses about 2 MB/s here: mutations grown to megabytes would take the whole
        // budget. Inputs are cut at 64 KiB (a cut is itself a mutation); large ones: db-hostile.test.ts.
        const input = b.subarray(0, 64 * 1024);
        for await (const v of streamArrayOf(file(input, 'nvd.json'), false, 'nvd.json', 'vulnerabilities'))
          products += cpeAffected((v as { cve?: { configurations?: unknown } })?.cve?.configurations).length;
        return products;
      },
    },
    {
      name: 'gzip feed files (bounded output)',
      seeds: gzipSeeds,
      run: (b) => maybeGunzip(b, 'feed.json.gz', 1024 * 1024).length,
    },
  ];
}
