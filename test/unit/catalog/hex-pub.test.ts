import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { mixLockCataloger, parseMixLock } from '../../../src/catalog/hex.js';
import { sourceTreeCatalogers } from '../../../src/catalog/index.js';
import { parsePubspecLock, pubspecLockCataloger } from '../../../src/catalog/pub.js';
import { fsFromFiles } from '../../helpers/fs.js';
import { shared } from '../../helpers/paths.js';

/** A peer's expectation file (Trivy's parser tests, transcribed): its first case's package ids. */
function expected(file: string): { ids: string[]; error: boolean } {
  const doc = JSON.parse(readFileSync(shared('fixtures/other', file), 'utf8')) as {
    cases: Array<{ want?: Array<{ ID?: string; Name: string; Version: string }>; wantErr?: string }>;
  };
  const c = doc.cases[0];
  return {
    ids: (c.want ?? []).map((w) => w.ID ?? `${w.Name}@${w.Version}`).sort(),
    error: c.wantErr === 'assert.Error',
  };
}

const ids = (list: Array<{ name: string; version: string }>) =>
  list.map((p) => `${p.name}@${p.version}`).sort();

describe('Hex: mix.lock, against the peer fixtures', () => {
  for (const f of ['happy.mix.lock', 'empty.mix.lock']) {
    it(f, () => {
      const text = readFileSync(shared('fixtures/other/trivy-hex-mix', f), 'utf8');
      assert.deepEqual(ids(parseMixLock(text)), expected(`trivy-hex-mix/${f}.expected.json`).ids);
    });
  }
  it('not a mix.lock: an error (a warning when catalogued)', () => {
    assert.throws(() => parseMixLock('{"json": true}'));
  });
});

describe('Pub: pubspec.lock, against the peer fixtures', () => {
  for (const f of ['happy.lock', 'empty.lock', 'broken.lock']) {
    it(f, () => {
      const text = readFileSync(shared('fixtures/other/trivy-dart-pub', f), 'utf8');
      const want = expected(`trivy-dart-pub/${f}.expected.json`);
      if (want.error) assert.throws(() => parsePubspecLock(text));
      else assert.deepEqual(ids(parsePubspecLock(text)), want.ids);
    });
  }
});

describe('Hex and Pub: the catalogers', () => {
  it('source trees read mix.lock and pubspec.lock into hex and pub purls', async () => {
    assert.ok(sourceTreeCatalogers.includes(mixLockCataloger));
    assert.ok(sourceTreeCatalogers.includes(pubspecLockCataloger));
    const fs = fsFromFiles({
      'app/mix.lock': readFileSync(shared('fixtures/other/trivy-hex-mix/happy.mix.lock')),
      'flutter/pubspec.lock': readFileSync(shared('fixtures/other/trivy-dart-pub/happy.lock')),
      'bad/pubspec.lock': '[this is not yaml]',
    });
    const ctx = { fs, warnings: [] as string[] };
    const pkgs = [...(await mixLockCataloger.catalog(ctx)), ...(await pubspecLockCataloger.catalog(ctx))];
    assert.deepEqual(pkgs.map((p) => p.purl).sort(), [
      'pkg:hex/bunt@0.2.0',
      'pkg:hex/credo@1.6.6',
      'pkg:hex/file_system@0.2.10',
      'pkg:hex/jason@1.3.0',
      'pkg:pub/crypto@3.0.2',
      'pkg:pub/flutter_test@0.0.0',
      'pkg:pub/uuid@3.0.6',
    ]);
    assert.equal(pkgs.find((p) => p.name === 'flutter_test')?.description, 'development dependency');
    assert.match(ctx.warnings.join('\n'), /\/bad\/pubspec\.lock: not a readable pubspec-lock file/);
  });
});
