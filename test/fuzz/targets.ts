import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { CustomsError } from '../../src/errors.js';
import { parseApkDb } from '../../src/catalog/apk.js';
import { parseReport } from '../../src/services/report.js';
import { parseDpkgStatus } from '../../src/catalog/dpkg.js';
import { goBuildInfoProbe, type GoBuildInfo } from '../../src/catalog/golang.js';
import { goSymbolsProbe, symbolsByModule, type GoSymbolTable } from '../../src/catalog/go-symbols.js';
import { readJavaArchive, readJavaArchiveFile } from '../../src/catalog/java/archive.js';
import { parseRpmdb } from '../../src/catalog/rpm/index.js';
import { parseHeader } from '../../src/catalog/rpm/header.js';
import { ndbBlobs } from '../../src/catalog/rpm/ndb.js';
import { bdbBlobs } from '../../src/catalog/rpm/bdb.js';
import { parsePackageLock } from '../../src/catalog/npm-lock.js';
import { parseJsonKept } from '../../src/catalog/json-keep.js';
import { JSON_READERS, RENV_SAMPLE } from './json-readers.js';
import { parseYarnLock } from '../../src/catalog/yarn-lock.js';
import { parsePnpmLock } from '../../src/catalog/pnpm-lock.js';
import { parseCargoLock } from '../../src/catalog/rust.js';
import { parseGoMod } from '../../src/catalog/golang-mod.js';
import { parsePdmLock, parsePoetryLock } from '../../src/catalog/python-tomls.js';
import { parsePeclRegistry } from '../../src/catalog/php.js';
import { parseRequirements } from '../../src/catalog/python-locks.js';
import { readLayer } from '../../src/image/layer-reader.js';
import { defaultLimits, MemoryBudget } from '../../src/image/limits.js';
import { indexTar } from '../../src/image/sources/tar-index.js';
import { findSecrets, secretValues } from '../../src/secrets/rules.js';
import { Redactions } from '../../src/secrets/redact.js';
import { alasImporter, elsaImporter } from '../../src/vulndb/importers/updateinfo.js';
import { newCounts } from '../../src/vulndb/importers/importer.js';
import { feedTargets } from './vulndb-targets.js';
import { HttpError } from '../../src/server/errors.js';
import { candidateTags } from '../../src/advise/advise.js';
import { tagListOf } from '../../src/image/registry/client.js';
import { jsonDepth, MAX_JSON_DEPTH, parseJsonBody } from '../../src/server/json-body.js';
import { makeTar } from '../helpers/image-writer.js';
import { shared } from '../helpers/paths.js';
import { bdbArb, buildBdb, buildNdb, headerArb, ndbArb } from './rpm-structures.js';
import { parsePom, pomDependencies, PomScan, type Pom } from '../../src/catalog/java/pom.js';
import { binaryVersionProbe } from '../../src/catalog/binaries/index.js';
import { nodeVerdict } from '../../src/vulndb/importers/nodejs.js';
import { secretProbe } from '../../src/secrets/scan.js';
import {
  bigFileWithKey,
  goBracketName,
  goManyModules,
  NODE_VERSIONS,
  nodeBinary,
  peclHugeName,
  pomBigVersion,
  pomEntityVersion,
  pomFanOut,
  pomSelfDoubling,
  pomSelfParent,
  pomManyExpansions,
} from './hostile-inputs.js';

/**
 * What the fuzzer feeds: each target starts from real inputs (the peers' fixtures, real package
 * databases) that the fuzzer then mutates. A target may return anything or throw a CustomsError
 * (a clear message for the user); any other exception is a crash, exit 2 for a user.
 */
export interface Target {
  name: string;
  seeds: Buffer[];
  run(input: Buffer): unknown;
  /** Lockfile parsers: their cataloger turns any exception into a warning, so only hangs and memory count. */
  anyErrorIsFine?: boolean;
  /** Inputs made by a structure-aware generator instead of byte mutations of the seeds. */
  arbitrary?: fc.Arbitrary<Buffer>;
  /** A property of the answer (e.g. no more output than input can hold): a message when broken. */
  check?(input: Buffer, result: unknown): string | undefined;
}

const f = (...p: string[]) => readFileSync(shared('fixtures', ...p));
const text = (b: Buffer) => b.toString('utf8');

let tmp: string | undefined;
function tempFile(b: Buffer): string {
  tmp ??= mkdtempSync(join(tmpdir(), 'customs-fuzz-'));
  const file = join(tmp, 'input.tar');
  writeFileSync(file, b);
  return file;
}
export function cleanup(): void {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

export async function targets(): Promise<Target[]> {
  const tarSeed = await makeTar([
    { name: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.7.3\n' },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/tool', content: Buffer.alloc(3000, 7), mode: 0o755 },
    { name: 'lib/apk/db/installed', content: f('apk/syft-apk/base') },
    { name: 'a', type: 'symlink', linkname: 'usr/bin/tool' },
    { name: 'b', type: 'link', linkname: 'usr/bin/tool' },
    { name: 'usr/.wh.gone', content: '' },
  ]);
  const pom = 'groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n';
  const inner = zipSync({ 'META-INF/maven/g/a/pom.properties': strToU8(pom), 'A.class': new Uint8Array(16) });
  const jarSeed = Buffer.from(
    zipSync(
      {
        'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\r\nImplementation-Version: 1.2\r\n\r\n'),
        'BOOT-INF/lib/x.jar': [inner, { level: 0 }],
      },
      { level: 0 },
    ),
  );
  const rpmSeeds = [
    f('rpm/amazonlinux2023-sqlite/rpmdb.sqlite'),
    f('rpm/sle15-bci-ndb/Packages.db'),
    f('rpm/libuuid-bdb/Packages'),
  ];
  const wantsAll = Object.assign((p: string) => p.startsWith('etc/') || p.startsWith('lib/'), { probes: [] });
  return [
    {
      name: 'tar indexer (plain archives read by range)',
      seeds: [tarSeed],
      run: (b) => indexTar(tempFile(b)),
    },
    {
      name: 'layer reader (streamed tar)',
      seeds: [tarSeed],
      run: (b) =>
        readLayer(Readable.from([b]), { index: 0 }, wantsAll, {
          ...defaultLimits,
          budget: new MemoryBudget(defaultLimits.maxHeldBytes),
        }),
    },
    {
      name: 'apk installed database',
      seeds: [f('apk/syft-apk/base'), f('apk/syft-apk/multiple-1/lib/apk/db/installed')],
      run: (b) => parseApkDb(text(b)),
    },
    {
      name: 'dpkg status',
      seeds: [f('dpkg/syft-dpkg/image-dpkg/var/lib/dpkg/status')],
      run: (b) => parseDpkgStatus(text(b)),
    },
    {
      // What `customs server` takes from CI uploads: a report made of a real apk inventory.
      name: 'server report upload',
      seeds: [
        Buffer.from(
          JSON.stringify({
            image: { name: 'alpine', manifestDigest: `sha256:${'a'.repeat(64)}`, repoTags: ['alpine:3'] },
            packages: parseApkDb(text(f('apk/syft-apk/base'))).map((r) => ({
              name: r.name,
              version: r.version,
              type: 'apk',
              purl: `pkg:apk/alpine/${r.name}@${r.version}`,
              files: r.files.slice(0, 3),
            })),
            context: { repository: 'registry.example/team/app:1', commit: 'abc' },
          }),
        ),
      ],
      run: (b) => parseReport(b),
    },
    { name: 'rpm databases (SQLite, NDB, Berkeley DB)', seeds: rpmSeeds, run: (b) => parseRpmdb(b) },
    { name: 'rpm header blobs', seeds: ndbBlobs(rpmSeeds[1]).slice(0, 3), run: (b) => parseHeader(b) },
    ...rpmStructures(ndbBlobs(rpmSeeds[1]).slice(0, 8)),
    { name: 'java archives (nested jars)', seeds: [jarSeed], run: (b) => readJavaArchive(b, 'app.jar') },
    {
      // Large archives are spooled to disk and read by random access (directory, then entries).
      name: 'java archives read from a spooled file',
      seeds: [jarSeed],
      run: (b) => readJavaArchiveFile(tempFile(b), 'app.jar'),
    },
    {
      name: 'secret rules',
      seeds: [
        Buffer.from(
          `password = "S3cr3t-Pa55w0rd-xyz"\nAKIAIOSFODNN7EXAMPLQ\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc123abc123abc123\n-----END RSA PRIVATE KEY-----\n`,
        ),
      ],
      run: (b) => findSecrets(b.toString('latin1')),
    },
    {
      // What one scan's secrets do to the rest of its result: each value masked in every line.
      name: 'secret redaction',
      seeds: [
        Buffer.from(
          `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9vHk3LmZ\necho wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9vHk3LmZ\n`,
        ),
      ],
      run: (b) => {
        const text = b.toString('latin1');
        const r = new Redactions();
        for (const v of secretValues(text)) r.add(v);
        for (const line of text.split('\n')) r.addNamed(line.slice(0, 64));
        return r.apply({ lines: text.split('\n'), [text.slice(0, 32)]: text });
      },
    },
    goProbes(),
    pomTarget(),
    {
      // What the classifier takes from a node binary, and how a version is matched.
      name: 'node binary versions (classifier, nodeVerdict)',
      seeds: [
        nodeBinary('18.12.1'),
        ...NODE_VERSIONS.slice(0, 2).map(nodeBinary),
        nodeBinary(`${'1'.repeat(5000)}.0.0`),
      ],
      run: (b) => {
        const probe = binaryVersionProbe.create('usr/local/bin/node');
        probe.push(b);
        const v = (probe.finish() as Record<string, string> | undefined)?.node;
        return v === undefined
          ? undefined
          : { v, verdict: nodeVerdict(v, { vulnerable: '<99.0.0', patched: '>=1.0.0' }) };
      },
      check: (_input, result) => {
        const r = result as { v: string } | undefined;
        return r && !/^\d{1,6}\.\d{1,6}\.\d{1,6}$/.test(r.v)
          ? `a version no release has: ${r.v.slice(0, 40)}`
          : undefined;
      },
    },
    {
      // Files over the limit or binary are marked, never kept or searched.
      name: 'secret probe (size limit, binary files)',
      seeds: [
        bigFileWithKey(80 * 1024),
        Buffer.from('token = "ghp_0123456789abcdefABCDEF0123456789abcd"\n\0'),
      ],
      run: (b) => {
        const probe = secretProbe(64 * 1024).create('srv/data');
        for (let i = 0; i < b.length; i += 16 * 1024) probe.push(b.subarray(i, i + 16 * 1024));
        return probe.finish();
      },
      check: (input, result) =>
        input.length > 64 * 1024 && !(result && typeof result === 'object' && 'notSearched' in result)
          ? 'a file over the limit was searched'
          : undefined,
    },
    ...(
      [
        ['ALAS', alasImporter, 'amazon'],
        ['ELSA', elsaImporter, 'oracle'],
      ] as const
    ).map(([label, importer, dir]) => ({
      // `db import` turns an importer's exception into a warning: only hangs and memory count.
      name: `${label} updateinfo.xml`,
      seeds: [
        readFileSync(join(import.meta.dirname, `../../../test/fixtures/${dir}/updateinfo.xml`)),
        // Nesting far past the bound, refused before the validator keeps a stack per element.
        Buffer.from(
          `<?xml version="1.0"?><updates><update><id>${label}-2099-0001</id>${'<a>'.repeat(2_000)}${'</a>'.repeat(2_000)}</update></updates>`,
        ),
      ],
      anyErrorIsFine: true,
      run: (b: Buffer) => {
        const rows: unknown[] = [];
        const w = { putAdvisory: (_s: string, rec: unknown, aff: unknown[]) => rows.push(rec, ...aff) };
        importer.import({ name: 'updateinfo.xml', text: b.toString('utf8') }, w as never, newCounts());
        return rows;
      },
    })),
    {
      // A registry's tag list, read for base-image candidates (services/base-candidates.ts).
      name: 'registry tag lists (base-image candidates)',
      seeds: [
        Buffer.from(
          JSON.stringify({
            name: 'library/alpine',
            tags: ['3.7', '3.10', '3.20', 'latest', 'edge', '3.10.9', 'v3.19'],
          }),
        ),
        Buffer.from('{"name":"x","tags":null}'),
      ],
      run: (b) => candidateTags('3.7', tagListOf(b), 5),
      check: (input, result) => {
        const out = result as string[];
        if (out.length > 5) return `${out.length} candidates, over the bound of 5`;
        const listed = new Set(tagListOf(input));
        return out.every((t) => listed.has(t)) ? undefined : 'a candidate the registry did not list';
      },
    },
    ...lockfiles(),
    ...(await feedTargets()),
    {
      // Every JSON request body of the server goes through this before anything walks it.
      name: 'server request bodies (JSON depth bound)',
      seeds: [f('npm/syft-javascript/pkg-lock/package-lock.json'), Buffer.from('{"a":[[{"b":"[[{"}]]}')],
      run: (b) => {
        try {
          return parseJsonBody(b);
        } catch (err) {
          if (err instanceof HttpError && err.status === 400) throw new CustomsError(err.message);
          throw err;
        }
      },
      // What passed the bound can be walked by validation and serialisation without a stack overflow.
      check: (input, result) => {
        try {
          JSON.stringify(result);
        } catch (err) {
          return `accepted a body that cannot be serialised: ${(err as Error).message}`;
        }
        return jsonDepth(input) > MAX_JSON_DEPTH ? 'accepted a body deeper than the bound' : undefined;
      },
    },
  ];
}

/** The Go binary probes (build info and pcln symbol table) over a small binary written here. */
function goProbes(): Target {
  const names = Buffer.from('go:buildid\0main.main\0net/http.(*Client).Do\0gopkg.in/yaml%2ev3.Unmarshal\0');
  const header = Buffer.alloc(72);
  header.writeUInt32LE(0xfffffff1, 0);
  header[6] = 1;
  header[7] = 8;
  const fields = [3, 1, 0, 72, 72 + names.length, 80 + names.length, 88 + names.length, 96 + names.length];
  fields.forEach((v, i) => header.writeBigUInt64LE(BigInt(v), 8 + i * 8));
  const seed = Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
    Buffer.alloc(60),
    header,
    names,
    Buffer.alloc(64),
    Buffer.from('\xff Go buildinf:\x08\x02', 'latin1'),
    Buffer.alloc(16),
    Buffer.from('\x08go1.21.3\x00', 'latin1'),
  ]);
  return {
    name: 'Go binary probes (build info, symbol table)',
    seeds: [seed, goManyModules(300, 3000), goManyModules(3, 30, [goBracketName(20_000)])],
    run: (b) => {
      const out: unknown[] = [];
      for (const factory of [goSymbolsProbe, goBuildInfoProbe]) {
        const probe = factory.create('usr/bin/app');
        // Odd chunk sizes: headers and tables split across pushes.
        for (let i = 0; i < b.length; i += 7 + (i % 13)) probe.push(b.subarray(i, i + 7 + (i % 13)));
        out.push(probe.finish());
      }
      const table = out[0] as GoSymbolTable | undefined;
      const info = out[1] as GoBuildInfo | undefined;
      const modules = ['gopkg.in/yaml.v3', ...(info?.deps ?? []).map((d) => d.path)];
      return table ? [...symbolsByModule(table, modules).values()].flat() : [];
    },
    check: (input, result) =>
      (result as string[]).join('').length > input.length * 2
        ? 'more symbol text than the input holds'
        : undefined,
  };
}

/**
 * pom.xml with its parents and BOMs from an in-memory repository: expansion, inheritance and
 * imports. Seeds: the crafted poms of issue 33 (at sizes a fuzz run can repeat) and a BOM import.
 */
function pomTarget(): Target {
  const bom: Pom = {
    groupId: 'b',
    artifactId: 'bom',
    version: '1',
    properties: { v: '2.0' },
    managed: [{ groupId: 'x', artifactId: 'y', version: '${v}' }],
    dependencies: [],
  };
  const repo = { get: async (_g?: string, a?: string) => (a === 'bom' ? bom : undefined) };
  const withBom =
    '<project><groupId>g</groupId><artifactId>a</artifactId><version>1</version><properties><p>1.${q}</p><q>2</q></properties>' +
    '<dependencyManagement><dependencies><dependency><groupId>b</groupId><artifactId>bom</artifactId><version>1</version><scope>import</scope></dependency></dependencies></dependencyManagement>' +
    '<dependencies><dependency><groupId>x</groupId><artifactId>y</artifactId></dependency><dependency><groupId>z</groupId><artifactId>z</artifactId><version>${p}</version></dependency></dependencies></project>';
  return {
    name: 'pom.xml (expansion, parents, BOM imports)',
    seeds: [
      withBom,
      pomFanOut(),
      pomSelfDoubling(64 * 1024),
      pomBigVersion(50, 64 * 1024),
      pomEntityVersion(),
      pomSelfParent(),
      pomManyExpansions(200),
    ].map((t) => Buffer.from(t)),
    // A pom that does not parse is the cataloger's warning.
    anyErrorIsFine: true,
    run: async (b) => {
      const scan = new PomScan(repo);
      const { chain } = await scan.chain(parsePom(b.toString('utf8')));
      return pomDependencies(chain, await scan.imports(chain), scan.budget);
    },
    check: (_input, result) => {
      const pins = (result as { pins?: Array<{ name: string; version: string }> } | undefined)?.pins ?? [];
      const bad = pins.find(
        (p) => p.version.length > 256 || p.name.length > 513 || /[&<>\s]/.test(p.version),
      );
      return bad
        ? `pinned ${bad.name.slice(0, 40)} at ${bad.version.slice(0, 40)} (${bad.version.length} characters)`
        : undefined;
    },
  };
}

/** The rpm formats again, from structure-aware generators (rpm-structures.ts). */
function rpmStructures(real: Buffer[]): Target[] {
  // Every package needs its own slot (16 bytes) or hash item: more records than that means one
  // piece of the file was read more than once, which a crafted file can repeat without end.
  const bounded = (input: Buffer, result: unknown) =>
    Array.isArray(result) && result.length > input.length / 16
      ? `${result.length} records from ${input.length} bytes`
      : undefined;
  return [
    {
      name: 'rpm headers (structure-aware)',
      seeds: real.slice(0, 2),
      arbitrary: headerArb,
      run: (b) => parseHeader(b),
    },
    {
      name: 'rpm NDB (structure-aware)',
      seeds: [buildNdb(real.slice(0, 3))],
      arbitrary: ndbArb(real),
      run: (b) => parseRpmdb(b),
      check: bounded,
    },
    {
      name: 'rpm Berkeley DB (structure-aware)',
      seeds: [buildBdb(real.slice(0, 3), 4096)],
      arbitrary: bdbArb(real),
      run: (b) => {
        const blobs = bdbBlobs(b);
        // An overflow page belongs to one item: the blobs together cannot outgrow the file.
        const total = blobs.reduce((a, x) => a + x.length, 0);
        if (total > b.length) return { amplified: total };
        return parseRpmdb(b);
      },
      check: (input, result) =>
        result && typeof result === 'object' && 'amplified' in result
          ? `${(result as { amplified: number }).amplified} bytes of headers from ${input.length} bytes`
          : bounded(input, result),
    },
  ];
}

/** What a reader makes of a document, or that it threw (the same either way it was parsed). */
function outcome(read: (doc: never) => unknown, doc: unknown): unknown {
  try {
    return { ok: read(doc as never) };
  } catch {
    return 'threw';
  }
}

/**
 * JSON manifests read keeping fields past STREAM_FROM (catalog/json-keep.ts): for any text
 * JSON.parse accepts, every reader gets the same answer from the kept fields as from the whole
 * document; text JSON.parse refuses is refused too, whatever is kept.
 */
function streamedJson(): Target {
  return {
    name: 'JSON manifests read keeping fields (kept fields equal the whole document)',
    seeds: [
      f('nuget/trivy-deps-json/self-contained.deps.json'),
      f('npm/syft-javascript/pkg-lock/package-lock.json'),
      f('packagist/syft-php/vendor/composer_2/installed.json'),
      f('packagist/syft-php/composer.lock'),
      f('nuget/syft-dotnet/packages.lock.json'),
      RENV_SAMPLE,
    ],
    anyErrorIsFine: true,
    async run(b) {
      let whole: unknown;
      try {
        whole = JSON.parse(text(b));
      } catch {
        const accepted: string[] = [];
        for (const r of JSON_READERS)
          if (
            await parseJsonKept(b, r.keep).then(
              () => true,
              () => false,
            )
          )
            accepted.push(r.name);
        return { accepted };
      }
      const differ: string[] = [];
      for (const r of JSON_READERS) {
        let kept: unknown;
        try {
          kept = outcome(r.read, await parseJsonKept(b, r.keep));
        } catch (err) {
          kept = `refused: ${(err as Error).message}`;
        }
        if (!isDeepStrictEqual(kept, outcome(r.read, whole))) differ.push(r.name);
      }
      return { differ };
    },
    check: (_input, result) => {
      const r = result as { differ?: string[]; accepted?: string[] } | undefined;
      if (r?.accepted?.length) return `text JSON.parse refuses accepted for ${r.accepted.join(', ')}`;
      const differ = r?.differ ?? [];
      return differ.length ? `kept and whole parses differ for ${differ.join(', ')}` : undefined;
    },
  };
}

function lockfiles(): Target[] {
  const lf = (name: string, file: string[], parse: (t: string) => unknown): Target => ({
    name,
    seeds: [f(...file)],
    run: (b) => parse(text(b)),
    anyErrorIsFine: true,
  });
  return [
    streamedJson(),
    lf('package-lock.json', ['npm/syft-javascript/pkg-lock/package-lock.json'], parsePackageLock),
    lf('yarn.lock', ['npm/syft-javascript/yarn-berry/yarn.lock'], parseYarnLock),
    lf('pnpm-lock.yaml', ['npm/syft-javascript/pnpm/pnpm-lock.yaml'], parsePnpmLock),
    lf('Cargo.lock', ['cargo/syft-rust/image-audit/Cargo.lock'], parseCargoLock),
    lf('go.mod', ['go/trivy-go-mod/replaced/go.mod'], parseGoMod),
    lf('poetry.lock', ['pypi/syft-python/pypi-remote/poetry.lock'], parsePoetryLock),
    lf('pdm.lock', ['pypi/syft-python/pdm-lock/pdm.lock'], parsePdmLock),
    {
      ...lf('PECL registry (.reg)', ['packagist/syft-php/memcached-v6-format.reg'], () => undefined),
      // A name past the string bound (the 200 MB one of issue 33, made small).
      seeds: [f('packagist/syft-php/memcached-v6-format.reg'), peclHugeName(300 * 1024)],
      run: (b) => parsePeclRegistry(b),
    },
    {
      ...lf('requirements.txt', ['pypi/trivy-requirements-txt/requirements_flask.txt'], () => undefined),
      run: (b) => parseRequirements(b),
    },
  ];
}

/** The verdict on one input: undefined when fine, else what went wrong. */
export async function judge(t: Target, input: Buffer): Promise<string | undefined> {
  const t0 = performance.now();
  try {
    const result = await t.run(input);
    const broken = t.check?.(input, result);
    if (broken) return `property: ${broken}`;
  } catch (err) {
    if (!t.anyErrorIsFine && !(err instanceof CustomsError))
      return `crash: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`;
  }
  const ms = performance.now() - t0;
  if (ms > 10_000) return `hang: ${Math.round(ms)} ms`;
  const rss = process.memoryUsage().rss / 1024 / 1024;
  if (rss > 512) return `memory: RSS ${Math.round(rss)} MiB`;
  return undefined;
}
