import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dockerArchive, makeTar, type TarEntry } from '../helpers/image-writer.js';
import { readTree } from '../helpers/fs.js';
import { cacheDir } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// Real, old, known-vulnerable packages installed from the npm registry into an image layer
// (cached once), found with their versions and paths, and matched against OSV records written here
// from the public GitHub advisories (GHSA-p6mc-m468-83gw: lodash < 4.17.19; GHSA-xvch-5gv4-984h:
// minimist < 1.2.6).
const WANT = { lodash: '4.17.15', minimist: '1.2.5' };
const dir = cacheDir('npm-real');
let skip: string | false = false;
let tmp: string;
let archive: string;
let env: Record<string, string>;

before(async () => {
  if (!existsSync(join(dir, 'node_modules', 'minimist', 'package.json'))) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npm-real', private: true }));
    const r = spawnSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--no-save',
        ...Object.entries(WANT).map(([n, v]) => `${n}@${v}`),
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    if (r.status !== 0) {
      skip = `npm install from the registry failed: ${r.stderr.split('\n').slice(-3).join(' ')}`;
      return;
    }
  }
  tmp = mkdtempSync(join(tmpdir(), 'customs-npm-'));
  const files = readTree(join(dir, 'node_modules'));
  const entries: TarEntry[] = Object.entries(files).map(([p, content]) => ({
    name: `srv/app/node_modules/${p}`,
    content,
  }));
  archive = join(tmp, 'app.tar');
  writeFileSync(archive, await dockerArchive({ layers: [await makeTar(entries)], tag: 'npm-app:1' }));
  const adv = join(tmp, 'osv');
  mkdirSync(adv);
  const osv = (id: string, cve: string, name: string, fixed: string) => ({
    schema_version: '1.4.0',
    id,
    aliases: [cve],
    modified: '2023-01-01T00:00:00Z',
    database_specific: { severity: 'HIGH' },
    affected: [
      {
        package: { ecosystem: 'npm', name },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }],
      },
    ],
  });
  writeFileSync(
    join(adv, 'GHSA-p6mc-m468-83gw.json'),
    JSON.stringify(osv('GHSA-p6mc-m468-83gw', 'CVE-2020-8203', 'lodash', '4.17.19')),
  );
  writeFileSync(
    join(adv, 'GHSA-xvch-5gv4-984h.json'),
    JSON.stringify(osv('GHSA-xvch-5gv4-984h', 'CVE-2021-44906', 'minimist', '1.2.6')),
  );
  env = { CUSTOMS_DB: join(tmp, 'db') };
  assert.equal(customs(['db', 'import', adv, '-q'], { env }).status, 0);
});
after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

describe('real npm packages installed from the registry', () => {
  it('are found with their versions and paths', (t) => {
    if (skip) return t.skip(skip);
    const r = customs(['sbom', archive, '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const npm = (
      JSON.parse(r.stdout).packages as Array<{
        name: string;
        version: string;
        type: string;
        locations: Array<{ path: string }>;
      }>
    ).filter((p) => p.type === 'npm');
    assert.deepEqual(
      npm.map((p) => `${p.name}@${p.version} ${p.locations[0].path}`).sort(),
      Object.entries(WANT).map(([n, v]) => `${n}@${v} /srv/app/node_modules/${n}/package.json`),
    );
  });

  it('are matched against npm advisories with their fixed versions', (t) => {
    if (skip) return t.skip(skip);
    const r = customs(['image', archive, '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const f = (
      JSON.parse(r.stdout).findings as Array<{ id: string; package: { name: string }; fixedVersion: string }>
    ).map((x) => `${x.package.name} ${x.id} ${x.fixedVersion}`);
    assert.deepEqual(f.sort(), ['lodash CVE-2020-8203 4.17.19', 'minimist CVE-2021-44906 1.2.6']);
  });
});
