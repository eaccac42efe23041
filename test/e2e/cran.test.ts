import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  cranDescriptionCataloger,
  cranLicenses,
  installedPackageFolder,
  parseDcf,
  parseRenvLock,
  renvLockCataloger,
} from '../../src/catalog/cran.js';
import { catalogImage, catalogers, sourceTreeCatalogers } from '../../src/catalog/index.js';
import { openImage } from '../../src/image/open.js';
import { schemeForEcosystem, schemeForPurlType } from '../../src/versions/index.js';
import { fsFromFiles } from '../helpers/fs.js';
import { customs } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

/** An installed package's DESCRIPTION as R CMD INSTALL leaves it (Debian Control Format). */
const description = (pkg: string, version: string, extra = '') =>
  `Package: ${pkg}\nType: Package\nTitle: The ${pkg}\n  Package, on two lines\nVersion: ${version}\n` +
  `License: MIT + file LICENSE\nMaintainer: Someone <someone@example.org>\n${extra}` +
  `Repository: CRAN\nBuilt: R 4.3.1; ; 2023-09-01 10:00:00 UTC; unix\n`;

const RENV_LOCK = JSON.stringify({
  R: { Version: '4.3.1', Repositories: [{ Name: 'CRAN', URL: 'https://cloud.r-project.org' }] },
  Packages: {
    jsonlite: { Package: 'jsonlite', Version: '1.8.7', Source: 'Repository', Repository: 'CRAN' },
    BiocGenerics: { Package: 'BiocGenerics', Version: '0.48.1', Source: 'Bioconductor' },
    renv: { Package: 'renv', Version: '1.0.3', Source: 'Repository', Repository: 'CRAN' },
    broken: { Package: 'broken' },
  },
});

let tmp: string;
let tree: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-cran-'));
  tree = join(tmp, 'tree');
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  };
  put('usr/local/lib/R/site-library/jsonlite/DESCRIPTION', description('jsonlite', '1.8.4'));
  put('usr/lib/R/library/stats/DESCRIPTION', description('stats', '4.3.1', 'Priority: base\n'));
  put('renv/library/R-4.3/x86_64-pc-linux-gnu/commonmark/DESCRIPTION', description('commonmark', '1.9.0'));
  // Not an installed package: a DESCRIPTION whose folder is not its name, and one outside a library.
  put('usr/lib/R/library/stats/tests/DESCRIPTION', description('other', '1.0'));
  put('src/mypkg/DESCRIPTION', description('mypkg', '0.1.0'));
  put('project/renv.lock', RENV_LOCK);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('CRAN: the formats', () => {
  it('Debian Control Format: fields, continuation lines, one paragraph', () => {
    const d = parseDcf('Package: a\nTitle: one\n  two\nVersion: 1.0-2\n\nPackage: second\n');
    assert.equal(d.Package, 'a');
    assert.equal(d.Title, 'one\ntwo');
    assert.equal(d.Version, '1.0-2');
  });

  it('installed packages are <library>/<…>/<name>/DESCRIPTION, found in linear time', () => {
    assert.equal(installedPackageFolder('usr/lib/R/library/stats/DESCRIPTION'), 'stats');
    assert.equal(installedPackageFolder('usr/local/lib/R/site-library/Rcpp/DESCRIPTION'), 'Rcpp');
    assert.equal(installedPackageFolder('p/renv/library/R-4.3/x86_64-pc-linux-gnu/cli/DESCRIPTION'), 'cli');
    assert.equal(installedPackageFolder('src/mypkg/DESCRIPTION'), undefined);
    assert.equal(installedPackageFolder('library/DESCRIPTION'), undefined);
    assert.equal(installedPackageFolder('usr/lib/R/library/stats/DESCRIPTION.bak'), undefined);
    const hostile = 'library/'.repeat(20_000);
    const t = Date.now();
    for (let i = 0; i < 100; i++) installedPackageFolder(`${hostile}x/DESCRIPTIO`);
    assert.ok(Date.now() - t < 1000, 'no backtracking on paths of many library/ segments');
  });

  it("R's License field: alternatives, and `+ file LICENSE` dropped", () => {
    assert.deepEqual(cranLicenses('MIT + file LICENSE'), ['MIT']);
    assert.deepEqual(cranLicenses('GPL-2 | GPL-3'), ['GPL-2', 'GPL-3']);
    assert.deepEqual(cranLicenses('file LICENSE'), []);
    assert.deepEqual(cranLicenses(undefined), []);
  });

  it('renv.lock: every package with a version, by its Package field', () => {
    assert.deepEqual(
      parseRenvLock(RENV_LOCK).map((p) => `${p.name}@${p.version}`),
      ['jsonlite@1.8.7', 'BiocGenerics@0.48.1', 'renv@1.0.3'],
    );
    assert.deepEqual(parseRenvLock('{"R":{}}'), []);
    assert.throws(() => parseRenvLock('not json'));
  });

  it("CRAN's version order is the one matching uses for the purl type and the OSV ecosystem", () => {
    assert.equal(schemeForPurlType('cran')?.name, 'cran');
    assert.equal(schemeForEcosystem('CRAN')?.name, 'cran');
    assert.ok(schemeForPurlType('cran')!.compare('1.8.4', '1.8-10') < 0);
  });
});

describe('CRAN: the catalogers', () => {
  it('installed packages: <library>/<name>/DESCRIPTION, in images and source trees', async () => {
    assert.ok(catalogers.includes(cranDescriptionCataloger));
    assert.ok(sourceTreeCatalogers.includes(renvLockCataloger));
    assert.ok(!catalogers.includes(renvLockCataloger), 'lockfiles are read in source trees only');
    const fs = fsFromFiles({
      'usr/lib/R/site-library/Rcpp/DESCRIPTION': description('Rcpp', '1.0.11'),
      'usr/lib/R/site-library/nofields/DESCRIPTION': 'Title: nothing\n',
    });
    const ctx = { fs, warnings: [] as string[] };
    const pkgs = await cranDescriptionCataloger.catalog(ctx);
    assert.deepEqual(
      pkgs.map((p) => [p.name, p.version, p.type, p.purl, p.foundBy, p.licenses, p.locations[0].path]),
      [
        [
          'Rcpp',
          '1.0.11',
          'cran',
          'pkg:cran/Rcpp@1.0.11',
          'cran-description',
          ['MIT'],
          '/usr/lib/R/site-library/Rcpp/DESCRIPTION',
        ],
      ],
    );
    assert.equal(pkgs[0].description, 'The Rcpp\nPackage, on two lines');
    assert.match(ctx.warnings.join('\n'), /nofields\/DESCRIPTION: no Package\/Version/);
  });

  it('a source tree: installed libraries and renv.lock, one package per purl', async () => {
    const image = await openImage(`dir:${tree}`, {
      wants: (p) => sourceTreeCatalogers.some((c) => c.wants(p)),
    });
    const inv = await catalogImage(image, sourceTreeCatalogers, true);
    assert.deepEqual(inv.packages.map((p) => `${p.purl} ${p.foundBy}`).sort(), [
      'pkg:cran/BiocGenerics@0.48.1 renv-lock',
      'pkg:cran/commonmark@1.9.0 cran-description',
      'pkg:cran/jsonlite@1.8.4 cran-description',
      'pkg:cran/jsonlite@1.8.7 renv-lock',
      'pkg:cran/renv@1.0.3 renv-lock',
      'pkg:cran/stats@4.3.1 cran-description',
    ]);
    assert.deepEqual(inv.warnings, []);
  });
});

describe('CRAN: through the CLI', () => {
  it('customs fs DIR --format json: packages found and matched against a CRAN advisory', () => {
    const feed = join(tmp, 'feed');
    mkdirSync(feed, { recursive: true });
    writeFileSync(
      join(feed, 'RSEC-test-jsonlite.json'),
      JSON.stringify({
        id: 'RSEC-2099-1',
        modified: '2024-01-01T00:00:00Z',
        aliases: ['CVE-2099-4242'],
        database_specific: { severity: 'HIGH' },
        affected: [
          {
            package: { ecosystem: 'CRAN', name: 'jsonlite' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.8-5' }] }],
          },
        ],
      }),
    );
    const env = { CUSTOMS_DB: join(tmp, 'cran.db') };
    const imp = customs(['db', 'import', feed], { env });
    assert.equal(imp.status, 0, imp.stderr);
    const r = customs(['fs', tree, '--format', 'json'], { env });
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    const scan = JSON.parse(r.stdout);
    const cran = scan.packages.filter((p: { type: string }) => p.type === 'cran');
    assert.equal(cran.length, 6);
    const hits = scan.findings.map(
      (f: { id: string; package: { version: string }; fixedVersion?: string }) =>
        `${f.id} ${f.package.version} fixed in ${f.fixedVersion}`,
    );
    // The CVE names the finding; 1.8.4 is before 1.8-5 in CRAN's order, 1.8.7 (renv.lock) after it.
    assert.deepEqual(hits, ['CVE-2099-4242 1.8.4 fixed in 1.8-5']);
  });

  it('the SBOMs carry the R packages and stay valid (CycloneDX 1.6, SPDX 2.3)', () => {
    const cdx = customs(['sbom', `dir:${tree}`, '--format', 'cyclonedx']);
    assert.equal(cdx.status, 0, cdx.stderr);
    const bom = JSON.parse(cdx.stdout);
    assert.deepEqual(schemaErrors('cyclonedx-1.6', bom), []);
    const purls = bom.components.map((c: { purl?: string }) => c.purl).filter(Boolean);
    for (const p of ['pkg:cran/jsonlite@1.8.4', 'pkg:cran/stats@4.3.1', 'pkg:cran/commonmark@1.9.0'])
      assert.ok(purls.includes(p), `${p} in ${purls.join(', ')}`);
    const spdx = customs(['sbom', `dir:${tree}`, '--format', 'spdx']);
    assert.equal(spdx.status, 0, spdx.stderr);
    const doc = JSON.parse(spdx.stdout);
    assert.deepEqual(schemaErrors('spdx-2.3', doc), []);
    const refs = doc.packages.flatMap((p: { externalRefs?: Array<{ referenceLocator: string }> }) =>
      (p.externalRefs ?? []).map((r) => r.referenceLocator),
    );
    assert.ok(refs.includes('pkg:cran/jsonlite@1.8.4'), refs.join(', '));
  });
});
