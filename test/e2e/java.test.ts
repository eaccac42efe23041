import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync, type Zippable } from 'fflate';
import {
  nameFromFile,
  parseManifest,
  parseProperties,
  readJavaArchive,
} from '../../src/catalog/java/archive.js';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { customs } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

// Log4Shell wherever the jar hides. The jars are built here with a zip writer: log4j-core's
// pom.properties, manifest and a JndiLookup class as the real jar has them (the class bytes are a
// stand-in). The advisories are the public GitHub advisories' ranges, written as OSV records.

const enc = (s: string) => new TextEncoder().encode(s);
const STORE = { level: 0 } as const; // nested archives are stored, as Spring Boot requires

function log4jCore(version: string): Uint8Array {
  return zipSync({
    'META-INF/MANIFEST.MF': enc(
      `Manifest-Version: 1.0\r\nBundle-SymbolicName: org.apache.logging.log4j.core\r\nBundle-Version: ${version}\r\nImplementation-Title: Apache Log4j Core\r\nImplementation-Version: ${version}\r\nImplementation-Vendor-Id: org.apache.logging.log4j\r\n\r\n`,
    ),
    'META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties': enc(
      `#Created by Apache Maven 3.6.3\nversion=${version}\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n`,
    ),
    'org/apache/logging/log4j/core/lookup/JndiLookup.class': new Uint8Array([
      0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52,
    ]),
  });
}

/** The six places the issue names, for one log4j-core version. */
function placements(version: string): Record<string, Uint8Array> {
  const core = log4jCore(version);
  const uber = zipSync({
    'META-INF/MANIFEST.MF': enc('Manifest-Version: 1.0\r\nMain-Class: com.example.Main\r\n\r\n'),
    'META-INF/maven/com.example/uber/pom.properties': enc(
      'version=1.0.0\ngroupId=com.example\nartifactId=uber\n',
    ),
    'META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties': enc(
      `version=${version}\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n`,
    ),
    'org/apache/logging/log4j/core/lookup/JndiLookup.class': new Uint8Array([0xca, 0xfe, 0xba, 0xbe]),
    'com/example/Main.class': new Uint8Array([0xca, 0xfe, 0xba, 0xbe]),
  });
  const libName = `log4j-core-${version}.jar`;
  const war = (): Uint8Array =>
    zipSync({
      'WEB-INF/web.xml': enc('<web-app/>'),
      [`WEB-INF/lib/${libName}`]: [core, STORE],
    } as Zippable);
  const boot = zipSync({
    'META-INF/MANIFEST.MF': enc(
      'Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\nStart-Class: com.example.App\r\n\r\n',
    ),
    'META-INF/maven/com.example/boot-app/pom.properties': enc(
      'version=2.0.0\ngroupId=com.example\nartifactId=boot-app\n',
    ),
    [`BOOT-INF/lib/${libName}`]: [core, STORE],
  } as Zippable);
  const ear = zipSync({
    'META-INF/application.xml': enc('<application/>'),
    'web.war': [war(), STORE],
  } as Zippable);
  return {
    [`opt/app/lib/${libName}`]: core,
    'opt/app/lib/app-lib.jar': core,
    'opt/app/uber.jar': uber,
    'opt/app/app.war': war(),
    'opt/app/boot-app-2.0.0.jar': boot,
    'opt/app/app.ear': ear,
  };
}

function expectedPaths(version: string): string[] {
  const lib = `log4j-core-${version}.jar`;
  return [
    `/opt/app/lib/${lib}`,
    '/opt/app/lib/app-lib.jar',
    '/opt/app/uber.jar',
    `/opt/app/app.war!/WEB-INF/lib/${lib}`,
    `/opt/app/boot-app-2.0.0.jar!/BOOT-INF/lib/${lib}`,
    `/opt/app/app.ear!/web.war!/WEB-INF/lib/${lib}`,
  ].sort();
}

const osv = (id: string, cve: string, ranges: string[][], vector: string) => ({
  schema_version: '1.4.0',
  id,
  aliases: [cve],
  modified: '2023-01-01T00:00:00Z',
  summary: `Apache Log4j2 ${cve}`,
  severity: [{ type: 'CVSS_V3', score: vector }],
  database_specific: { severity: 'CRITICAL' },
  affected: [
    {
      package: { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' },
      ranges: [{ type: 'ECOSYSTEM', events: ranges.flatMap(([i, f]) => [{ introduced: i }, { fixed: f }]) }],
    },
  ],
});

let tmp: string;
let env: Record<string, string>;
const images: Record<string, string> = {};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-java-'));
  const adv = join(tmp, 'osv-maven');
  mkdirSync(adv);
  // Public facts: GHSA-jfh8-c2jp-5v3q (CVE-2021-44228) and GHSA-7rjr-3q55-vv33 (CVE-2021-45046).
  writeFileSync(
    join(adv, 'GHSA-jfh8-c2jp-5v3q.json'),
    JSON.stringify(
      osv(
        'GHSA-jfh8-c2jp-5v3q',
        'CVE-2021-44228',
        [
          ['2.13.0', '2.15.0'],
          ['0', '2.3.1'],
          ['2.4', '2.12.2'],
        ],
        'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H',
      ),
    ),
  );
  writeFileSync(
    join(adv, 'GHSA-7rjr-3q55-vv33.json'),
    JSON.stringify(
      osv(
        'GHSA-7rjr-3q55-vv33',
        'CVE-2021-45046',
        [
          ['2.13.0', '2.16.0'],
          ['0', '2.12.2'],
        ],
        'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H',
      ),
    ),
  );
  env = { CUSTOMS_DB: join(tmp, 'db') };
  const r = customs(['db', 'import', adv, shared('kev'), '-q'], { env });
  assert.equal(r.status, 0, r.stderr);
  for (const v of ['2.14.1', '2.17.1']) {
    const files = placements(v);
    const layer = await makeTar(
      Object.entries(files).map(([name, body]) => ({ name, content: Buffer.from(body) })),
    );
    const f = join(tmp, `app-${v}.tar`);
    writeFileSync(f, await dockerArchive({ layers: [layer], tag: `app:${v}` }));
    images[v] = f;
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('Log4Shell acceptance', () => {
  it('log4j-core 2.14.1 is found in all six places, with nesting paths', () => {
    const r = customs(['sbom', images['2.14.1'], '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const log4j = JSON.parse(r.stdout).packages.filter(
      (p: { name: string }) => p.name === 'org.apache.logging.log4j:log4j-core',
    );
    assert.deepEqual(
      log4j.map((p: { locations: Array<{ path: string }> }) => p.locations[0].path).sort(),
      expectedPaths('2.14.1'),
    );
    for (const p of log4j) {
      assert.equal(p.version, '2.14.1');
      assert.equal(p.purl, 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1');
    }
    const names = JSON.parse(r.stdout).packages.map(
      (p: { name: string; version: string }) => `${p.name}@${p.version}`,
    );
    assert.ok(names.includes('com.example:uber@1.0.0'));
    assert.ok(names.includes('com.example:boot-app@2.0.0'));
  });

  it('every place is vulnerable to CVE-2021-44228 and CVE-2021-45046: critical, KEV-listed, fixed version given', () => {
    const r = customs(['image', images['2.14.1'], '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const findings = JSON.parse(r.stdout).findings as Array<{
      id: string;
      aliases: string[];
      package: { path: string };
      severity: { level: string };
      kev?: object;
      fixedVersion?: string;
    }>;
    for (const cve of ['CVE-2021-44228', 'CVE-2021-45046']) {
      const hits = findings.filter((f) => f.id === cve);
      assert.deepEqual(hits.map((f) => f.package.path).sort(), expectedPaths('2.14.1'), cve);
      for (const f of hits) {
        assert.equal(f.severity.level, 'CRITICAL');
        assert.ok(f.kev, `${cve} is KEV-listed`);
        assert.ok(f.aliases.some((a) => a.startsWith('GHSA-')));
      }
    }
    assert.equal(findings.find((f) => f.id === 'CVE-2021-44228')?.fixedVersion, '2.15.0');
    assert.equal(findings.find((f) => f.id === 'CVE-2021-45046')?.fixedVersion, '2.16.0');
    // The two Log4Shell findings rank above everything else in the image.
    assert.deepEqual(
      new Set(findings.slice(0, 12).map((f) => f.id)),
      new Set(['CVE-2021-44228', 'CVE-2021-45046']),
    );
  });

  it('log4j-core 2.17.1 in the same places is found and not vulnerable', () => {
    const sbom = JSON.parse(customs(['sbom', images['2.17.1'], '--format', 'json'], { env }).stdout);
    const paths = sbom.packages
      .filter((p: { name: string }) => p.name === 'org.apache.logging.log4j:log4j-core')
      .map((p: { locations: Array<{ path: string }> }) => p.locations[0].path)
      .sort();
    assert.deepEqual(paths, expectedPaths('2.17.1'));
    const r = customs(['image', images['2.17.1'], '--format', 'json'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).findings, []);
  });

  it('CycloneDX: one entry per vulnerability affecting each copy of log4j-core, Maven group and name apart', () => {
    const r = customs(['image', images['2.14.1'], '--format', 'cyclonedx'], { env });
    assert.equal(r.status, 0, r.stderr);
    const bom = JSON.parse(r.stdout);
    assert.deepEqual(schemaErrors('cyclonedx-1.6', bom), []);
    type Component = {
      'bom-ref': string;
      group?: string;
      name: string;
      properties: Array<{ name: string; value: string }>;
    };
    const log4j = (bom.components as Component[]).filter((c) => c.name === 'log4j-core');
    assert.equal(log4j.length, 6);
    for (const c of log4j) assert.equal(c.group, 'org.apache.logging.log4j');
    const pathOf = new Map(
      log4j.map((c) => [c['bom-ref'], c.properties.find((p) => p.name === 'customs:location:path')!.value]),
    );
    for (const cve of ['CVE-2021-44228', 'CVE-2021-45046']) {
      const entries = bom.vulnerabilities.filter((v: { id: string }) => v.id === cve);
      assert.equal(entries.length, 1, `${cve}: one entry`);
      const refs = (entries[0].affects as Array<{ ref: string }>).map((a) => a.ref);
      // Every copy, each by its own component: the six paths, not six times the first one.
      assert.deepEqual(refs.map((ref) => pathOf.get(ref)).sort(), expectedPaths('2.14.1'), cve);
    }
  });

  it('the SARIF result points at the nested jar', () => {
    const r = customs(['image', images['2.14.1'], '--format', 'sarif'], { env });
    const uris = JSON.parse(r.stdout).runs[0].results.map(
      (x: { locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }) =>
        x.locations[0].physicalLocation.artifactLocation.uri,
    );
    assert.ok(
      uris.some((u: string) => u.includes('app.ear') && u.includes('web.war')),
      JSON.stringify(uris),
    );
  });
});

describe('java archives: identification rules and bounds', () => {
  it('manifest when there is no pom.properties; file name last', () => {
    const withManifest = zipSync({
      'META-INF/MANIFEST.MF': enc(
        'Manifest-Version: 1.0\r\nBundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind;singleton:=true\r\nBundle-Version: 2.9.8\r\n\r\n',
      ),
    });
    assert.deepEqual(readJavaArchive(withManifest, '/x/jackson-databind.jar').artifacts, [
      {
        groupId: 'com.fasterxml.jackson.core',
        artifactId: 'jackson-databind',
        version: '2.9.8',
        nestPath: '/x/jackson-databind.jar',
        evidence: 'manifest',
      },
    ]);
    const bare = zipSync({ 'a.class': new Uint8Array([1]) });
    assert.deepEqual(readJavaArchive(bare, '/x/commons-text-1.9.jar').artifacts, [
      {
        artifactId: 'commons-text',
        version: '1.9',
        nestPath: '/x/commons-text-1.9.jar',
        evidence: 'file name',
      },
    ]);
    assert.deepEqual(readJavaArchive(bare, '/x/app.jar').artifacts, []);
  });

  it('a damaged archive is a warning, and nesting depth is bounded', () => {
    const bad = readJavaArchive(new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3]), '/x/broken.jar');
    assert.deepEqual(bad.artifacts, []);
    assert.match(bad.warnings[0], /^\/x\/broken\.jar: not a readable zip archive/);
    let inner: Uint8Array = log4jCore('2.14.1');
    for (let i = 0; i < 12; i++) inner = zipSync({ [`lib/level${i}.jar`]: [inner, STORE] } as Zippable);
    const deep = readJavaArchive(inner, '/deep.jar');
    assert.equal(deep.artifacts.length, 0);
    assert.match(deep.warnings.join('\n'), /not opened, archives nest deeper than 8/);
    const small = readJavaArchive(
      zipSync({ 'lib/a.jar': [log4jCore('2.14.1'), STORE] } as Zippable),
      '/b.jar',
      { maxDepth: 8, maxBytes: 100 },
    );
    assert.match(small.warnings.join('\n'), /skipped, past the 100-byte bound/);
  });

  it('properties, manifests and file names', () => {
    assert.deepEqual(parseProperties('# c\nversion = 1.2\ngroupId:org.x\n! other\nartifactId=a\\=b\n'), {
      version: '1.2',
      groupId: 'org.x',
      artifactId: 'a=b',
    });
    assert.deepEqual(
      parseManifest(
        'Manifest-Version: 1.0\r\nImplementation-Title: a very long\r\n  title\r\n\r\nName: x\r\nA: b\r\n',
      ),
      {
        'Manifest-Version': '1.0',
        'Implementation-Title': 'a very long title',
      },
    );
    assert.deepEqual(nameFromFile('/a/spring-core-5.3.9.RELEASE.jar'), {
      artifactId: 'spring-core',
      version: '5.3.9.RELEASE',
    });
    assert.deepEqual(nameFromFile('guava-31.1-jre.jar'), { artifactId: 'guava', version: '31.1-jre' });
  });
});
