import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';

// One scan, several reports (`--output FORMAT=FILE`, repeatable): each byte for byte what a
// separate run of that format writes (SOURCE_DATE_EPOCH fixes the time and document ids).
describe('one scan, several outputs', () => {
  let tmp: string;
  let db: string;
  // The README's first scan: a Pipfile.lock with known vulnerabilities.
  const project = shared('fixtures/pypi/syft-python/pipfile-lock');
  const env = { SOURCE_DATE_EPOCH: '1767225600' };
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-outputs-'));
    db = join(tmp, 'vuln.db');
    const r = customs(['db', 'import', shared('advisories/pypi-osv'), '--db', db, '-q']);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes every report from one scan, identical to separate runs', () => {
    const out = (n: string) => join(tmp, n);
    const one = customs(
      [
        'fs',
        project,
        '--db',
        db,
        '-q',
        '--output',
        `sarif=${out('all.sarif')}`,
        '--output',
        `json=${out('all.json')}`,
        '--output',
        `cyclonedx=${out('all.cdx.json')}`,
        '--output',
        `spdx=${out('all.spdx.json')}`,
        '--output',
        'table',
      ],
      { env },
    );
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /GHSA-|CVE-/, 'the table went to standard output');
    assert.ok(JSON.parse(readFileSync(out('all.json'), 'utf8')).findings.length > 0);
    for (const [format, file] of [
      ['sarif', 'all.sarif'],
      ['json', 'all.json'],
      ['cyclonedx', 'all.cdx.json'],
      ['spdx', 'all.spdx.json'],
    ]) {
      const alone = customs(['fs', project, '--db', db, '-q', '-f', format, '-o', out(`alone.${format}`)], {
        env,
      });
      assert.equal(alone.status, 0, alone.stderr);
      assert.equal(readFileSync(out(file), 'utf8'), readFileSync(out(`alone.${format}`), 'utf8'), format);
    }
    const table = customs(['fs', project, '--db', db, '-q'], { env });
    assert.equal(one.stdout, table.stdout);
    // The plain form still works: --format with one --output file.
    const plain = customs(['fs', project, '--db', db, '-q', '-f', 'json', '-o', out('plain.json')], { env });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(readFileSync(out('plain.json'), 'utf8'), readFileSync(out('all.json'), 'utf8'));
  });

  it('refuses what cannot work before scanning', () => {
    const bad = (args: string[], re: RegExp) => {
      const r = customs(['fs', project, '--db', db, '-q', ...args]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, re);
    };
    bad(['--output', `nope=${join(tmp, 'x')}`], /unknown format "nope"/);
    bad(['--output', 'table', '--output', 'json'], /only one report can go to standard output/);
    bad(
      ['--output', `json=${join(tmp, 'same')}`, '--output', `sarif=${join(tmp, 'same')}`],
      /two reports name the same file/,
    );
    bad(['--output', `json=${join(tmp, 'no-such-folder', 'x.json')}`], /does not exist/);
    bad(
      ['-f', 'json', '--output', 'table'],
      /--format json and --output table both name what goes to standard output/,
    );
    assert.equal(existsSync(join(tmp, 'same')), false, 'nothing was written');
  });

  it('an explicit --format keeps standard output beside FORMAT=FILE reports, and --help says so', () => {
    const html = join(tmp, 'kept.html');
    const r = customs(['fs', project, '--db', db, '-q', '--format', 'json', '--output', `html=${html}`], {
      env,
    });
    assert.equal(r.status, 0, r.stderr);
    const alone = customs(['fs', project, '--db', db, '-q', '--format', 'json'], { env });
    assert.equal(r.stdout, alone.stdout, 'the JSON went to standard output');
    assert.match(readFileSync(html, 'utf8'), /^<!doctype html>/);
    // Without --format, FORMAT=FILE reports leave standard output alone, as before.
    const quiet = customs(['fs', project, '--db', db, '-q', '--output', `html=${html}`], { env });
    assert.equal(quiet.stdout, '');
    const help = customs(['image', '--help']).stdout.replace(/\s+/g, ' ');
    assert.match(help, /given with --output FORMAT=FILE, it still goes to standard output/);
  });
});
