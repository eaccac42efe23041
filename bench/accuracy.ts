/**
 * Accuracy: precision and recall of Customs' findings against a labelled set built here from
 * inputs this machine has, per ecosystem:
 *
 * - Alpine: the minirootfs releases that have a secdb branch among the shared advisories (3.7 to
 *   3.10). Expected: every CVE the branch's secfixes list for an installed package's origin at a
 *   fix version above the installed one.
 * - PyPI: for each package of the shared PyPI advisories, an affected version and each fixed
 *   version, installed as dist-info folders. Expected: the advisories whose explicit `versions`
 *   list holds that version (Customs matches by the ranges, so the two sides are independent).
 * - Go: a program built here with the machine's Go toolchain, its stdlib matched by version
 *   (reachability off). Expected: the stdlib advisories whose SEMVER ranges hold the toolchain's
 *   version, evaluated here.
 *
 * Which advisory applies to which package is decided here from the advisory files, not by the
 * matcher; version order is the schemes' (each checked against the peers' vectors in the suite).
 * `npm run accuracy` prints the figures; the suite fails if one falls below the recorded ones
 * (bench/accuracy-baseline.json).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { apkScheme } from '../src/versions/apk.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const SHARED = join(ROOT, '../shared/data');

export interface EcosystemAccuracy {
  expected: number;
  truePositives: number;
  falsePositives: string[];
  falseNegatives: string[];
  precision: number;
  recall: number;
  f1: number;
}
export type AccuracyReport = Record<string, EcosystemAccuracy>;

interface Finding {
  id: string;
  aliases: string[];
  package: { name: string; version: string; type: string };
}

function customs(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, CUSTOMS_ANALYSIS_CACHE: 'off', ...env },
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`customs ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function scan(dir: string, env: NodeJS.ProcessEnv, extra: string[] = []): Finding[] {
  return (
    JSON.parse(customs(['rootfs', dir, '--format', 'json', '-q', ...extra], env)) as { findings: Finding[] }
  ).findings;
}

/** Expected keys `pkg@version ADVISORY` against findings: a finding counts once, by any of its ids. */
export function score(
  expected: Set<string>,
  findings: Finding[],
  keep: (f: Finding) => boolean,
  /** A finding that matches no label but is about an advisory the set does not label: not scored. */
  unlabelled: (f: Finding) => boolean = () => false,
): EcosystemAccuracy {
  const found = new Set<string>();
  const falsePositives: string[] = [];
  for (const f of findings.filter(keep)) {
    const keys = [f.id, ...f.aliases].map((id) => `${f.package.name}@${f.package.version} ${id}`);
    const hit = keys.filter((k) => expected.has(k));
    if (hit.length) for (const k of hit) found.add(k);
    else if (!unlabelled(f)) falsePositives.push(keys[0]);
  }
  const falseNegatives = [...expected].filter((k) => !found.has(k)).sort();
  const tp = found.size;
  const precision = tp + falsePositives.length ? tp / (tp + falsePositives.length) : 1;
  const recall = expected.size ? tp / expected.size : 1;
  return {
    expected: expected.size,
    truePositives: tp,
    falsePositives: falsePositives.sort(),
    falseNegatives,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
  };
}

function alpine(work: string, env: NodeJS.ProcessEnv): EcosystemAccuracy {
  const expected = new Set<string>();
  const findings: Finding[] = [];
  for (const f of readdirSync(join(SHARED, 'images/alpine')).sort()) {
    const version = /minirootfs-(\d+)\.(\d+)\.\d+-/.exec(f);
    const branch = version && `v${version[1]}.${version[2]}`;
    if (!branch || !existsSync(join(SHARED, 'advisories/alpine-secdb', branch))) continue;
    // secfixes per origin package: fix version → CVEs ("0": never affected).
    const fixes = new Map<string, Array<[string, string[]]>>();
    for (const repo of ['main.yaml', 'community.yaml']) {
      const file = join(SHARED, 'advisories/alpine-secdb', branch, repo);
      if (!existsSync(file)) continue;
      const doc = YAML.parse(readFileSync(file, 'utf8')) as {
        packages?: Array<{ pkg: { name: string; secfixes?: Record<string, string[] | null> } }>;
      };
      for (const { pkg } of doc.packages ?? [])
        for (const [fix, ids] of Object.entries(pkg.secfixes ?? {}))
          fixes.set(pkg.name, [...(fixes.get(pkg.name) ?? []), [fix, (ids ?? []).map(String)]]);
    }
    const dir = join(work, `alpine-${branch}`);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['xzf', join(SHARED, 'images/alpine', f), '-C', dir]);
    const installed = readFileSync(join(dir, 'lib/apk/db/installed'), 'utf8');
    for (const block of installed.split('\n\n')) {
      const field = (k: string) => new RegExp(`^${k}:(.*)$`, 'm').exec(block)?.[1];
      const [name, ver] = [field('P'), field('V')];
      if (!name || !ver) continue;
      for (const [fix, ids] of fixes.get(field('o') ?? name) ?? []) {
        if (fix === '0' || apkScheme.compare(ver, fix) >= 0) continue;
        // Entries such as "CVE-2018-1000 XSA-123" name several ids: the CVE is the key.
        for (const id of ids.flatMap((x) => x.match(/CVE-\d{4}-\d+/g) ?? []))
          expected.add(`${name}@${ver} ${id}`);
      }
    }
    findings.push(...scan(dir, env));
  }
  return score(expected, findings, (f) => f.package.type === 'apk');
}

function pypi(work: string, env: NodeJS.ProcessEnv): EcosystemAccuracy {
  interface Osv {
    id: string;
    aliases?: string[];
    withdrawn?: string;
    affected?: Array<{
      package?: { name?: string; ecosystem?: string };
      versions?: string[];
      ranges?: Array<{ type?: string; events?: Array<Record<string, string>> }>;
    }>;
  }
  const base = join(SHARED, 'advisories/pypi-osv/vulns');
  // Package → advisories, and the versions to install: one affected, and each fixed version.
  const rounds: Array<Map<string, string>> = [];
  const advisories = new Map<string, Osv[]>();
  for (const d of readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    const docs = readdirSync(join(base, d))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .map((f) => YAML.parse(readFileSync(join(base, d, f), 'utf8')) as Osv)
      .filter((a) => !a.withdrawn);
    const mine = docs.flatMap((a) => (a.affected ?? []).filter((x) => x.package?.ecosystem === 'PyPI'));
    const name = mine[0]?.package?.name;
    if (!name) continue;
    advisories.set(name, docs);
    // Only versions PyPI published (those some advisory enumerates): a version no list names
    // cannot tell the two readings apart.
    // Pre-releases are left out: the enumerations disagree about them (tensorflow 1.3.0rc0 is in
    // some advisories' lists and not in others' whose ranges hold it).
    const published = new Set(
      mine.flatMap((a) => a.versions ?? []).filter((v) => !/(a|b|rc|dev)\d*$|\.dev/i.test(v)),
    );
    const versions = new Set<string>();
    for (const a of mine) {
      const list = a.versions ?? [];
      const stable = list.filter((v) => published.has(v));
      if (stable.length) versions.add(stable[Math.floor(stable.length / 2)]);
      for (const r of a.ranges ?? [])
        if (r.type === 'ECOSYSTEM')
          for (const e of r.events ?? []) if (e.fixed && published.has(e.fixed)) versions.add(e.fixed);
    }
    [...versions].slice(0, 3).forEach((v, i) => (rounds[i] ??= new Map()).set(name, v));
  }
  const expected = new Set<string>();
  const unlabelled = new Set<string>();
  const findings: Finding[] = [];
  rounds.forEach((round, i) => {
    const dir = join(work, `pypi-${i}`);
    for (const [name, version] of round) {
      const info = join(dir, `usr/lib/python3.11/site-packages/${name}-${version}.dist-info`);
      mkdirSync(info, { recursive: true });
      writeFileSync(join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
      for (const a of advisories.get(name) ?? []) {
        const mine = (a.affected ?? []).filter((x) => x.package?.name === name);
        // An advisory that enumerates no versions has no label here: its findings are not scored.
        if (!mine.some((x) => x.versions?.length))
          for (const id of [a.id, ...(a.aliases ?? [])]) unlabelled.add(id);
        else if (mine.some((x) => (x.versions ?? []).includes(version)))
          expected.add(`${name}@${version} ${a.id}`);
      }
    }
    findings.push(...scan(dir, env));
  });
  return score(
    expected,
    findings,
    (f) => f.package.type === 'pypi',
    (f) => [f.id, ...f.aliases].some((id) => unlabelled.has(id)),
  );
}

/** Go's SEMVER as the Go advisories write it (`1.20.0-0` is 1.20.0's lowest pre-release). */
function goCompare(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.replace(/^v/, '').split('-', 2);
    return { n: core.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if ((x.n[i] ?? 0) !== (y.n[i] ?? 0)) return (x.n[i] ?? 0) - (y.n[i] ?? 0);
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

interface GoOsv {
  id: string;
  withdrawn?: string;
  affected?: Array<{
    package?: { name?: string };
    ranges?: Array<{ type?: string; events?: Array<Record<string, string>> }>;
    ecosystem_specific?: { imports?: Array<{ path?: string }> };
  }>;
}

/** Events in order: a version is affected after an introduced and before the next fixed. */
function inSemverRanges(version: string, ranges: NonNullable<GoOsv['affected']>[number]['ranges']): boolean {
  return (ranges ?? []).some((r) => {
    if (r.type !== 'SEMVER') return false;
    let affected = false;
    for (const e of r.events ?? []) {
      if (e.introduced !== undefined && (e.introduced === '0' || goCompare(version, e.introduced) >= 0))
        affected = true;
      if (e.fixed !== undefined && goCompare(version, e.fixed) >= 0) affected = false;
    }
    return affected;
  });
}

/**
 * Up to 20 modules of the Go advisories, each at a version one of its ranges introduces (so at
 * least that advisory applies), with one of its packages: vendored as stubs, so the build needs
 * no module download and the binary's build info names each module at that version.
 */
function goModules(advisories: GoOsv[]): Array<{ module: string; version: string; pkg: string }> {
  const out = new Map<string, { module: string; version: string; pkg: string }>();
  for (const a of advisories)
    for (const x of a.affected ?? []) {
      const m = x.package?.name;
      const pkg = x.ecosystem_specific?.imports?.[0]?.path;
      if (!m || !pkg || out.has(m) || m === 'stdlib' || m === 'toolchain' || !pkg.startsWith(m)) continue;
      // An internal package cannot be imported from outside its module; main packages not at all.
      if (/(^|\/)(internal|cmd|main)(\/|$)/.test(pkg.slice(m.length))) continue;
      // Paths Go accepts at a v0/v1 version without a major-version suffix, and no cgo/asm trickery.
      if (/\/v\d+$|^gopkg\.in\//.test(m) || !/^[a-z0-9.-]+\.[a-z]+\/[A-Za-z0-9._/-]+$/.test(m)) continue;
      const intro = (x.ranges ?? [])
        .flatMap((r) => (r.type === 'SEMVER' ? (r.events ?? []) : []))
        .map((e) => e.introduced)
        .find((v) => v && v !== '0' && /^[01]\.\d+\.\d+$/.test(v));
      if (intro) out.set(m, { module: m, version: `v${intro}`, pkg });
    }
  return [...out.values()].sort((p, q) => p.module.localeCompare(q.module)).slice(0, 20);
}

function go(work: string, env: NodeJS.ProcessEnv): EcosystemAccuracy | undefined {
  if (spawnSync('go', ['version']).status !== 0) return undefined;
  const version = /go(\d+\.\d+(?:\.\d+)?)/.exec(execFileSync('go', ['version'], { encoding: 'utf8' }))![1];
  const base = join(SHARED, 'advisories/go-osv');
  const advisories = readdirSync(base)
    .filter((x) => x.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(base, f), 'utf8')) as GoOsv)
    .filter((a) => !a.withdrawn);
  const mods = goModules(advisories);
  const dir = join(work, 'go');
  mkdirSync(join(dir, 'root/usr/local/bin'), { recursive: true });
  writeFileSync(
    join(dir, 'go.mod'),
    `module example.com/app\n\ngo 1.19\n\nrequire (\n${mods.map((m) => `\t${m.module} ${m.version}\n`).join('')})\n`,
  );
  mkdirSync(join(dir, 'vendor'), { recursive: true });
  writeFileSync(
    join(dir, 'vendor/modules.txt'),
    mods.map((m) => `# ${m.module} ${m.version}\n## explicit\n${m.pkg}\n`).join(''),
  );
  for (const m of mods) {
    mkdirSync(join(dir, 'vendor', m.pkg), { recursive: true });
    writeFileSync(join(dir, 'vendor', m.pkg, 'stub.go'), 'package stub\n\nvar Linked = 1\n');
  }
  writeFileSync(
    join(dir, 'main.go'),
    `package main\n\nimport (\n\t"os"\n${mods.map((m) => `\t_ "${m.pkg}"\n`).join('')})\n\nfunc main() { os.Stdout.WriteString("hi\\n") }\n`,
  );
  execFileSync('go', ['build', '-mod=vendor', '-o', join(dir, 'app'), '.'], {
    cwd: dir,
    env: {
      ...process.env,
      GOCACHE: join(dir, 'cache'),
      GOPATH: join(dir, 'path'),
      GO111MODULE: 'on',
      GOPROXY: 'off',
      GOFLAGS: '',
    },
  });
  copyFileSync(join(dir, 'app'), join(dir, 'root/usr/local/bin/app'));
  const findings = scan(join(dir, 'root'), env, ['--go-reachability', 'off']);
  const stdlib = findings.find((f) => f.package.name === 'stdlib')?.package.version ?? `v${version}`;
  const expected = new Set<string>();
  const want = new Map([
    ['stdlib', { at: stdlib, version }],
    ...mods.map((m) => [m.module, { at: m.version, version: m.version.slice(1) }] as const),
  ]);
  for (const a of advisories)
    for (const x of a.affected ?? []) {
      const w = want.get(x.package?.name ?? '');
      if (w && inSemverRanges(w.version, x.ranges)) expected.add(`${x.package!.name}@${w.at} ${a.id}`);
    }
  return score(expected, findings, (f) => want.has(f.package.name));
}

export function measureAccuracy(work: string): AccuracyReport {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const env = { CUSTOMS_DB: join(work, 'customs.db') };
  customs(
    [
      'db',
      'import',
      join(SHARED, 'advisories/alpine-secdb'),
      join(SHARED, 'advisories/pypi-osv'),
      join(SHARED, 'advisories/go-osv'),
      '-q',
    ],
    env,
  );
  const report: AccuracyReport = { Alpine: alpine(work, env), PyPI: pypi(work, env) };
  const g = go(work, env);
  if (g) report.Go = g;
  return report;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function formatReport(r: AccuracyReport): string {
  const lines = [
    '| ecosystem | expected pairs | true positives | false positives | false negatives | precision | recall | F1 |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...Object.entries(r).map(
      ([eco, a]) =>
        `| ${eco} | ${a.expected} | ${a.truePositives} | ${a.falsePositives.length} | ${a.falseNegatives.length} | ${pct(a.precision)} | ${pct(a.recall)} | ${pct(a.f1)} |`,
    ),
  ];
  for (const [eco, a] of Object.entries(r)) {
    if (a.falsePositives.length)
      lines.push('', `${eco} false positives:`, ...a.falsePositives.slice(0, 30).map((x) => `- ${x}`));
    if (a.falseNegatives.length)
      lines.push('', `${eco} false negatives:`, ...a.falseNegatives.slice(0, 30).map((x) => `- ${x}`));
  }
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const report = measureAccuracy(join(ROOT, '.cache/accuracy'));
  process.stdout.write(`\n## Accuracy\n${formatReport(report)}\n`);
  if (process.argv.includes('--record'))
    writeFileSync(
      join(ROOT, 'bench/accuracy-baseline.json'),
      JSON.stringify(
        Object.fromEntries(
          Object.entries(report).map(([e, a]) => [
            e,
            { expected: a.expected, precision: a.precision, recall: a.recall },
          ]),
        ),
        null,
        2,
      ) + '\n',
    );
}
