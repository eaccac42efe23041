import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { cargoAuditableProbe } from '../../src/catalog/rust-binary.js';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

// A real ELF program (compiled here by rustc, else the system's own `true`) given a `.dep-v0`
// section the way `cargo auditable` embeds one: zlib-compressed JSON of the dependency tree, added
// with objcopy (cargo auditable itself needs crates.io, which is not reachable here).
const skip = !has('objcopy') ? 'objcopy (binutils) is not installed' : false;
const DEPS = {
  packages: [
    { name: 'hello', version: '0.1.0', source: 'local', kind: 'runtime', dependencies: [1, 2], root: true },
    { name: 'smallvec', version: '1.6.0', source: 'crates.io', kind: 'runtime' },
    { name: 'time', version: '0.1.43', source: 'crates.io' },
    { name: 'cc', version: '1.0.83', source: 'crates.io', kind: 'build' },
  ],
};
let tmp: string;
let archive: string;
let binary: Buffer;

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'customs-rust-'));
  const exe = join(tmp, 'hello');
  writeFileSync(join(tmp, 'main.rs'), 'fn main() { println!("hello"); }\n');
  const built = has('rustc') && spawnSync('rustc', ['-O', '-o', exe, join(tmp, 'main.rs')]).status === 0;
  if (!built) writeFileSync(exe, readFileSync('/bin/true'));
  writeFileSync(join(tmp, 'deps.zlib'), deflateSync(Buffer.from(JSON.stringify(DEPS)), { level: 9 }));
  const r = spawnSync(
    'objcopy',
    [
      '--add-section',
      `.dep-v0=${join(tmp, 'deps.zlib')}`,
      '--set-section-flags',
      '.dep-v0=noload,readonly',
      exe,
      `${exe}-audited`,
    ],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  binary = readFileSync(`${exe}-audited`);
  const layer = await makeTar([
    { name: 'usr/local/bin/hello', content: binary, mode: 0o755 },
    { name: 'usr/local/bin/plain', content: readFileSync(exe), mode: 0o755 },
  ]);
  archive = join(tmp, 'rust.tar');
  writeFileSync(archive, await dockerArchive({ layers: [layer], tag: 'rust:1' }));
});
after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

describe('Rust binaries built with cargo auditable', { skip }, () => {
  it('yield their runtime crates; build dependencies and the root crate are left out', () => {
    const r = customs(['sbom', archive, '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const cargo = (
      JSON.parse(r.stdout).packages as Array<{
        name: string;
        version: string;
        type: string;
        locations: Array<{ path: string }>;
      }>
    ).filter((p) => p.type === 'cargo');
    assert.deepEqual(cargo.map((p) => `${p.name}@${p.version} ${p.locations[0].path}`).sort(), [
      'smallvec@1.6.0 /usr/local/bin/hello',
      'time@0.1.43 /usr/local/bin/hello',
    ]);
  });

  it('are matched against the RustSec advisories (compiled-in code is the binary own)', () => {
    const env = { CUSTOMS_DB: join(tmp, 'db') };
    assert.equal(customs(['db', 'import', shared('advisories/rustsec-osv'), '-q'], { env }).status, 0);
    const r = customs(['image', archive, '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const ids = (
      JSON.parse(r.stdout).findings as Array<{ id: string; aliases: string[]; package: { name: string } }>
    ).map((f) => `${f.package.name} ${[f.id, ...f.aliases].find((a) => a.startsWith('RUSTSEC-'))}`);
    assert.ok(ids.includes('smallvec RUSTSEC-2021-0003'), ids.join(', '));
    assert.ok(ids.includes('time RUSTSEC-2020-0071'), ids.join(', '));
  });

  it('finds the section whatever the chunk boundaries', () => {
    for (const size of [97, 4096, 65_536]) {
      const probe = cargoAuditableProbe.create('usr/local/bin/hello');
      for (let i = 0; i < binary.length; i += size) probe.push(binary.subarray(i, i + size));
      const got = probe.finish() as typeof DEPS;
      assert.deepEqual(
        got?.packages.map((p) => p.name),
        ['hello', 'smallvec', 'time', 'cc'],
        `chunks of ${size}`,
      );
    }
  });
});
