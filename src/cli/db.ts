import type { Command } from 'commander';
import { CustomsError, withInput } from '../errors.js';
import { defaultDbPath } from '../vulndb/paths.js';
import { ownDeadline } from './deadline.js';
import { secondsFlag } from './scan-flags.js';
import type { AdvisoryView } from '../vulndb/store.js';

// The database modules (SQLite, zstd, YAML, zip) load only when a db command runs.

function dbPathOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { db?: string };
  return defaultDbPath(opts.db);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

const collect = (v: string, all: string[]) => [...all, v];
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

/** --timeout, read as every command reads it. */
const seconds = (v: string): number => secondsFlag(v);

function keepCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new CustomsError('--keep must be a whole number of versions, at least 1');
  return n;
}

interface UpdateFlags {
  dbRepository: string[];
  trustKey: string[];
  insecure?: boolean;
  full?: boolean;
  fromFeeds?: boolean;
  only?: string;
  timeout: string;
  deadline: string;
  allowDowngrade?: boolean;
}

function deadlineMs(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CustomsError('--deadline must be a positive number of seconds');
  return n * 1000;
}

async function expiresMs(v: string | undefined): Promise<number | undefined> {
  if (v === undefined) return undefined;
  const { parseDuration } = await import('../vulndb/bundle.js');
  return parseDuration(v);
}

const EXPIRES_HELP = 'the signature expires this long after the build (e.g. 7d, 36h; default 7d)';

/** Today's feed builder: download what changed upstream and import it into the database. */
async function updateFromFeeds(
  file: string,
  opts: Pick<UpdateFlags, 'only' | 'timeout'> & { deadline?: string },
): Promise<void> {
  const { configuredSources, discoverSources, fetchIndex, selectSources } =
    await import('../vulndb/sources.js');
  const { updateDatabase } = await import('../vulndb/update.js');
  const timeoutMs = seconds(opts.timeout) * 1000;
  // Upstream's own lists (OSV ecosystems, Alpine branches) are read only when such a source is wanted.
  const configured = configuredSources();
  const all = selectSources(configured, opts.only).some((s) => s.discover)
    ? await discoverSources(
        configured,
        (url) => fetchIndex(url, timeoutMs),
        (w) => err(`customs: warning: ${w}`),
      )
    : configured;
  const sources = selectSources(all, opts.only);
  const tty = process.stderr.isTTY;
  let last = 0;
  const started = Date.now();
  const outcomes = await updateDatabase(file, sources, {
    idleTimeoutMs: seconds(opts.timeout) * 1000,
    deadlineMs: opts.deadline === undefined ? undefined : deadlineMs(opts.deadline),
    onProgress: (name, n, total) => {
      if (!tty || Date.now() - last < 100) return;
      last = Date.now();
      process.stderr.write(`\r\x1b[K${name}: ${mb(n)}${total ? ` / ${mb(total)}` : ''} MB`);
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  for (const o of outcomes) {
    const line = `${o.name}: ${o.status}${o.records !== undefined ? ` (${o.records} records)` : ''}${o.bytes ? `, ${mb(o.bytes)} MB` : ''}${o.error ? ` — ${o.error}; its previous data is kept` : ''}`;
    if (o.status === 'failed') err(`customs: warning: ${line}`);
    else process.stdout.write(line.replace(/ — .*$/, '') + '\n');
    if (o.status !== 'failed' && o.error) err(`customs: warning: ${o.name}: ${o.error}`);
  }
  process.stdout.write(`database ${file} updated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (outcomes.length && outcomes.every((o) => o.status === 'failed'))
    throw new CustomsError('every source failed; the database is unchanged');
}

/** db export / db build: the database as a bundle, signed with each key given. */
async function writeDbBundle(
  dbFile: string,
  out: string,
  keyFiles: string[],
  expires?: number,
): Promise<void> {
  const { fullManifest, writeBundle } = await import('../vulndb/bundle.js');
  const { loadPrivateKey } = await import('../vulndb/signing.js');
  const { compactCopy } = await import('../vulndb/bundle.js');
  const { rmSync } = await import('node:fs');
  const keys = keyFiles.map(loadPrivateKey);
  const compact = `${out}.compact-${process.pid}`;
  let m;
  let sigs;
  try {
    compactCopy(dbFile, compact);
    m = await fullManifest(compact, expires);
    sigs = (await writeBundle(out, m, compact, [], keys)).signatures;
  } finally {
    rmSync(compact, { force: true });
  }
  process.stdout.write(
    `${out}: database version ${m.version} (${mb(m.payload.size)} MB, sha256 ${m.payload.sha256.slice(0, 16)}…, ${sigs.length ? `signed by key ${sigs.map((s) => s.keyId).join(', ')}, expires ${m.expires}` : 'unsigned'})\n`,
  );
}

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('the vulnerability database: import feeds, show status and advisories')
    .option('--db <path>', 'database file (default: $CUSTOMS_DB or the user cache folder)');

  const update = db
    .command('update')
    .description(
      'pull the signed prebuilt database (only the deltas since the local version), or build it from the feeds',
    )
    .option(
      '--db-repository <ref>',
      'OCI repository, HTTPS URL or file of the prebuilt database; repeat for mirrors, tried in order (default: $CUSTOMS_DB_REPOSITORY, comma-separated, or the Customs repository)',
      collect,
      [],
    )
    .option(
      '--trust-key <pem>',
      'also trust this ed25519 public key (repeatable; also $CUSTOMS_DB_TRUST_KEYS)',
      collect,
      [],
    )
    .option('--insecure', 'allow a repository on plain HTTP or with an unverified TLS certificate')
    .option('--full', 'download the whole database, not deltas')
    .option('--from-feeds', 'build the database here from the upstream feeds instead (large downloads)')
    .option(
      '--only <sources>',
      'with --from-feeds (implied): comma-separated sources, e.g. osv:PyPI,osv:Go,alpine-secdb (osv = every OSV ecosystem)',
    )
    .option('--timeout <seconds>', 'end a download that sends nothing for this long', '30')
    .option(
      '--deadline <seconds>',
      'end a download of the prebuilt database that takes longer than this (with --from-feeds: each feed file, default 1800)',
      '600',
    )
    .option(
      '--allow-downgrade',
      'install the signed version the repository holds even when it is older than the local one',
    )
    .action(async (opts: UpdateFlags, cmd: Command) => {
      const file = dbPathOf(cmd);
      if (opts.fromFeeds || opts.only) {
        // Feed files are larger than the prebuilt database: its 10-minute default is not theirs.
        const given = cmd.getOptionValueSource('deadline') !== 'default';
        await updateFromFeeds(file, { ...opts, deadline: given ? opts.deadline : undefined });
        return;
      }
      const { pullDatabase, dbRepositories } = await import('../vulndb/install.js');
      const { trustedKeys } = await import('../vulndb/signing.js');
      const started = Date.now();
      const tty = process.stderr.isTTY;
      let last = 0;
      const r = await pullDatabase(file, dbRepositories(opts.dbRepository), {
        keys: trustedKeys(opts.trustKey),
        full: opts.full,
        allowDowngrade: opts.allowDowngrade,
        deadlineMs: deadlineMs(opts.deadline),
        // Two retries, not four: with mirrors configured, a dead one should hand over soon.
        registry: { insecure: opts.insecure, timeoutMs: seconds(opts.timeout) * 1000, retries: 2 },
        log: err,
        onProgress: (what, n, total) => {
          if (!tty || Date.now() - last < 100) return;
          last = Date.now();
          process.stderr.write(`\r\x1b[K${what}: ${mb(n)}${total ? ` / ${mb(total)}` : ''} MB`);
        },
      });
      if (tty) process.stderr.write('\r\x1b[K');
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (r.status === 'current') {
        const { VulnStore } = await import('../vulndb/store.js');
        const { signedExpiry } = await import('../vulndb/freshness.js');
        const store = VulnStore.openRead(file);
        const frozen = signedExpiry((k) => store.meta(k));
        store.close();
        // Nothing newer than a copy whose signature has expired: the repository is frozen.
        if (frozen.expired) throw new CustomsError(`${r.origin}: ${frozen.notice}`);
        process.stdout.write(`database ${file} is current: version ${r.version} (${r.origin})\n`);
        return;
      }
      const how = r.mode === 'delta' ? `${r.deltas} delta${r.deltas === 1 ? '' : 's'}` : 'the whole database';
      if (r.downgradedFrom)
        err(`customs: warning: downgraded on purpose from version ${r.downgradedFrom} (--allow-downgrade)`);
      process.stdout.write(
        `database ${file} updated to version ${r.version} from ${r.origin}: ${how}, ${r.bytes} bytes fetched, signed by key ${r.signedBy ?? '?'}${r.expires ? ` until ${r.expires}` : ''}, ${took} s\n`,
      );
    });
  // Its --deadline ends a download cleanly (temp files removed), not the process.
  ownDeadline.add(update);

  db.command('import')
    .description(
      'add feed files from a folder, a zip or a file (OSV JSON/YAML, Alpine secdb, Debian tracker, KEV, EPSS, NVD)',
    )
    .argument('<path...>', 'folders, zips or files, as upstream publishes them')
    .option('-q, --quiet', 'no per-file warnings')
    .option('--trust-key <pem>', 'a bundle: also trust this ed25519 public key (repeatable)', collect, [])
    .option('--allow-unsigned', 'a bundle: install it even when it is unsigned (checksums still verified)')
    .option('--allow-downgrade', 'a bundle: install it even when it is older than the local database')
    .action(
      async (
        paths: string[],
        opts: { quiet?: boolean; trustKey: string[]; allowUnsigned?: boolean; allowDowngrade?: boolean },
        cmd: Command,
      ) => {
        const file = dbPathOf(cmd);
        const started = Date.now();
        // A bundle (db export / db build) is a whole database: it replaces the current one once
        // its signature and checksums are verified.
        const { isZstdFile } = await import('../vulndb/bundle.js');
        const { installBundleFile } = await import('../vulndb/install.js');
        const { trustedKeys } = await import('../vulndb/signing.js');
        const { importPath } = await import('../vulndb/import.js');
        const { VulnStore } = await import('../vulndb/store.js');
        for (const p of paths.filter(isZstdFile)) {
          try {
            const r = await installBundleFile(
              p,
              file,
              opts.allowUnsigned ? undefined : trustedKeys(opts.trustKey),
              { allowDowngrade: opts.allowDowngrade },
            );
            process.stdout.write(
              `${p}: database version ${r.manifest.version} installed (${r.signedBy ? `signed by key ${r.signedBy}` : 'unsigned'}; checksums verified)\n`,
            );
          } catch (e) {
            throw withInput(e, p);
          }
        }
        const feeds = paths.filter((p) => !isZstdFile(p));
        if (feeds.length === 0) return;
        const reports = await VulnStore.update(file, async (w) => {
          const out = [];
          for (const p of feeds) {
            try {
              out.push({ path: p, report: await importPath(w, p) });
            } catch (e) {
              throw withInput(e, p);
            }
          }
          return out;
        });
        for (const { path, report } of reports) {
          for (const [source, c] of report.sources) {
            process.stdout.write(
              `${path}: ${source}: ${c.records} imported${c.skipped ? `, ${c.skipped} skipped` : ''}${c.warnings.length ? `, ${c.warnings.length} warnings` : ''}\n`,
            );
            if (!opts.quiet) for (const w of c.warnings.slice(0, 20)) err(`customs: warning: ${w}`);
            if (!opts.quiet && c.warnings.length > 20)
              err(`customs: warning: … and ${c.warnings.length - 20} more`);
          }
          for (const r of report.refused) err(`customs: warning: ${path}: ${r}`);
          if (report.malformed.length)
            err(
              `customs: warning: ${path}: ${report.malformed.length} file(s) are not valid JSON/YAML, skipped: ${report.malformed.slice(0, 5).join(', ')}`,
            );
          if (report.unrecognised.length)
            err(
              `customs: warning: ${path}: ${report.unrecognised.length} file(s) are no known feed, skipped: ${report.unrecognised.slice(0, 5).join(', ')}`,
            );
          if (report.sources.size === 0) throw new CustomsError('no advisory feed found', path);
        }
        process.stdout.write(`database ${file} updated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      },
    );

  db.command('export')
    .description(
      'write the database as a bundle (tar.zst with a manifest; signed with --key) for an air-gapped site',
    )
    .argument('<file>', 'e.g. customs-db.tar.zst')
    .option('--key <pem>', 'sign with this ed25519 private key (repeatable)', collect, [])
    .option('--expires <duration>', EXPIRES_HELP)
    .action(async (out: string, opts: { key: string[]; expires?: string }, cmd: Command) => {
      await writeDbBundle(dbPathOf(cmd), out, opts.key, await expiresMs(opts.expires));
    });

  db.command('build')
    .description("the publisher's side: build or refresh the database, then write it as a bundle")
    .argument('[paths...]', 'feed files or folders to import (as db import takes them)')
    .requiredOption('--output <file>', 'the bundle to write, e.g. customs-db.tar.zst')
    .option('--from-feeds', 'download the upstream feeds (only what changed since the last build)')
    .option('--only <sources>', 'with --from-feeds: comma-separated sources')
    .option('--key <pem>', 'sign with this ed25519 private key (repeatable)', collect, [])
    .option('--expires <duration>', EXPIRES_HELP)
    .option('--timeout <seconds>', 'end a download that sends nothing for this long', '30')
    .action(
      async (
        paths: string[],
        opts: UpdateFlags & { output: string; key: string[]; expires?: string },
        cmd: Command,
      ) => {
        const file = dbPathOf(cmd);
        const expires = await expiresMs(opts.expires);
        if (!paths.length && !opts.fromFeeds && !opts.only)
          throw new CustomsError('db build needs --from-feeds or feed paths to import');
        if (opts.fromFeeds || opts.only) await updateFromFeeds(file, opts);
        if (paths.length) {
          const { importPath } = await import('../vulndb/import.js');
          const { VulnStore } = await import('../vulndb/store.js');
          await VulnStore.update(file, async (w) => {
            for (const p of paths) {
              try {
                await importPath(w, p);
              } catch (e) {
                throw withInput(e, p);
              }
            }
          });
        }
        await writeDbBundle(file, opts.output, opts.key, expires);
      },
    );

  db.command('publish')
    .description('sign a bundle and push it, with the delta from the version there now, to an OCI repository')
    .argument('<bundle>', 'from db build or db export')
    .argument('<ref>', 'e.g. ghcr.io/org/customs-db:1 (the tag is the schema major)')
    .requiredOption(
      '--key <pem>',
      'ed25519 private key, PEM (repeatable: sign with each, for key rotation)',
      collect,
      [],
    )
    .option('--insecure', 'allow a registry on plain HTTP or with an unverified TLS certificate')
    .option(
      '--previous <bundle>',
      'the bundle of the version the repository holds now (saves downloading it)',
    )
    .option('--no-delta', 'push the whole database only')
    .option(
      '--expires <duration>',
      "sign anew to expire this long from now (default: keep the bundle's expiry; 7d when it has none)",
    )
    .option('--keep <n>', 'delete versions older than the newest N from the repository')
    .option('--timeout <seconds>', 'fail when the registry sends nothing for this long', '30')
    .action(
      async (
        bundle: string,
        ref: string,
        opts: {
          key: string[];
          insecure?: boolean;
          previous?: string;
          delta: boolean;
          keep?: string;
          timeout: string;
          expires?: string;
        },
      ) => {
        const { loadPrivateKey } = await import('../vulndb/signing.js');
        const { publishDatabase } = await import('../vulndb/publish.js');
        const started = Date.now();
        const r = await publishDatabase(bundle, ref, {
          keys: opts.key.map(loadPrivateKey),
          previous: opts.previous,
          noDelta: !opts.delta,
          keep: opts.keep ? keepCount(opts.keep) : undefined,
          expiresMs: await expiresMs(opts.expires),
          log: err,
          registry: { insecure: opts.insecure, timeoutMs: seconds(opts.timeout) * 1000 },
        });
        if (r.status === 'unchanged') {
          process.stdout.write(`${r.reference} already holds version ${r.version} (${r.digest})\n`);
          return;
        }
        process.stdout.write(
          `${r.reference} and :${r.versionTag} → ${r.digest}: version ${r.version}, full ${r.fullBytes} bytes${r.delta ? `, delta from ${r.delta.base} ${r.delta.bytes} bytes (${r.delta.groupsChanged} advisories changed, ${r.delta.rowsUpserted} rows written, ${r.delta.rowsDeleted} deleted)` : ', no delta'}${r.pruned ? `; ${r.pruned} old version(s) deleted` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      },
    );

  db.command('verify')
    .description('check a bundle: manifest, schema, signature by a trusted key, payload checksum')
    .argument('<bundle>')
    .option('--trust-key <pem>', 'also trust this ed25519 public key (repeatable)', collect, [])
    .option('--json', 'as JSON')
    .action(async (bundle: string, opts: { trustKey: string[]; json?: boolean }, cmd: Command) => {
      const { readBundle } = await import('../vulndb/bundle.js');
      const { trustedKeys } = await import('../vulndb/signing.js');
      const scratch = `${dbPathOf(cmd)}.verify-${process.pid}`;
      const { mkdirSync, rmSync } = await import('node:fs');
      const { dirname } = await import('node:path');
      mkdirSync(dirname(scratch), { recursive: true });
      try {
        const r = await readBundle(bundle, scratch, trustedKeys(opts.trustKey)).catch((e: unknown) => {
          throw withInput(e, bundle);
        });
        const m = r.manifest;
        if (opts.json) {
          process.stdout.write(
            JSON.stringify({ ok: true, signedBy: r.signedBy, manifest: m }, null, 2) + '\n',
          );
          return;
        }
        process.stdout.write(
          [
            `${bundle}: OK`,
            `kind       ${m.kind}${m.baseVersion ? ` (from ${m.baseVersion})` : ''}`,
            `version    ${m.version}`,
            `schema     ${m.schemaVersion}`,
            `signed by  key ${r.signedBy}`,
            `expires    ${m.expires ?? 'never'}`,
            `payload    ${m.payload.name}, ${m.payload.size} bytes, sha256 ${m.payload.sha256}`,
            `content    ${m.contentDigest}`,
            `sources    ${m.sources.map((s) => `${s.name} ${s.records}${s.status !== 'ok' ? ` (${s.status})` : ''}`).join(', ')}`,
          ].join('\n') + '\n',
        );
      } finally {
        rmSync(scratch, { force: true });
      }
    });

  db.command('status')
    .description('schema version, build time, and per-source counts and age')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { VulnStore } = await import('../vulndb/store.js');
      const store = VulnStore.openRead(dbPathOf(cmd));
      try {
        const { DEFAULT_MAX_AGE_DAYS, staleness } = await import('../vulndb/staleness.js');
        const sources = store.sources();
        // The scan's definition of stale (vulndb/staleness.ts): age, failed sources, expiry.
        const fresh = staleness((k) => store.meta(k), sources);
        const { builtAt, expiry } = fresh;
        const ageDays = fresh.ageDays ?? Infinity;
        const status = {
          path: store.path,
          schemaVersion: Number(store.meta('schema_version')),
          version: builtAt,
          origin: store.meta('local.origin') ?? 'built here from feeds',
          installedAt: store.meta('local.installed_at'),
          builtAt,
          stale: fresh.stale,
          expires: expiry.expires,
          expired: expiry.expired,
          sources,
          advisories: store.counts(),
          kev: store.tableCount('kev'),
          epss: store.tableCount('epss'),
          nvd: store.tableCount('cvss'),
        };
        if (opts.json) {
          process.stdout.write(JSON.stringify(status, null, 2) + '\n');
          return;
        }
        const lines = [
          `database   ${status.path}`,
          `schema     ${status.schemaVersion}`,
          `version    ${builtAt ?? 'none'}`,
          `origin     ${status.origin}`,
          `expires    ${expiry.expires ? `${expiry.expires}${expiry.expired ? ' (EXPIRED: the repository is frozen)' : ''}` : 'never (built here or unsigned)'}`,
          `built at   ${builtAt ?? 'never'}${builtAt ? ` (${ageDays < 1 ? 'today' : `${Math.floor(ageDays)} days ago`})` : ''}`,
          '',
          'SOURCE                  RECORDS  UPDATED               STATUS',
          ...status.sources.map(
            (s) =>
              `${s.name.padEnd(22)}  ${String(s.records).padStart(7)}  ${(s.updatedAt ?? '').slice(0, 19).padEnd(20)}  ${s.status}${s.error ? `: ${s.error}` : ''}`,
          ),
          '',
          'ADVISORIES BY ECOSYSTEM',
          ...status.advisories.map(
            (c) =>
              `${`${c.source} ${c.ecosystem}`.padEnd(30)}  ${String(c.advisories).padStart(7)} advisories  ${String(c.rows).padStart(7)} package entries`,
          ),
          `KEV ${status.kev} · EPSS ${status.epss} · NVD CVSS ${status.nvd}`,
        ];
        process.stdout.write(lines.join('\n') + '\n');
        if (expiry.notice) err(`customs: warning: ${expiry.notice}`);
        else if (ageDays > DEFAULT_MAX_AGE_DAYS)
          err(
            `customs: warning: the database is older than ${DEFAULT_MAX_AGE_DAYS} days; run "customs db update"`,
          );
        else if (fresh.failed.length)
          err(
            `customs: warning: the last update of ${fresh.failed.map((s) => s.name).join(', ')} failed; run "customs db update"`,
          );
      } finally {
        store.close();
      }
    });

  db.command('show')
    .description('one advisory with every affected range, aliases, severities, KEV and EPSS')
    .argument('<id>', 'CVE, GHSA, GO-, PYSEC-… id or alias')
    .option('--json', 'as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { VulnStore } = await import('../vulndb/store.js');
      const store = VulnStore.openRead(dbPathOf(cmd));
      try {
        const advisories = store.advisories(id);
        const cves = new Set(
          [id, ...advisories.flatMap((a) => [a.id, ...a.aliases])].filter((x) => x.startsWith('CVE-')),
        );
        const enrich = [...cves].map((cve) => ({
          cve,
          kev: store.kev(cve),
          epss: store.epss(cve),
          nvd: store.cvss(cve),
        }));
        if (advisories.length === 0 && enrich.every((e) => !e.kev && !e.epss && !e.nvd)) {
          throw new CustomsError(`no advisory ${id} in the database`);
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify({ id, advisories, enrichment: enrich }, null, 2) + '\n');
          return;
        }
        process.stdout.write(showText(advisories, enrich) + '\n');
      } finally {
        store.close();
      }
    });
}

function showText(
  advisories: AdvisoryView[],
  enrich: Array<{
    cve: string;
    kev?: { dueDate?: string; name?: string };
    epss?: { score: number; percentile: number };
  }>,
): string {
  const out: string[] = [];
  for (const a of advisories) {
    out.push(`${a.id}  [${a.source}]${a.withdrawn ? `  WITHDRAWN ${a.withdrawn}` : ''}`);
    if (a.summary) out.push(`  ${a.summary}`);
    if (a.aliases.length) out.push(`  aliases: ${a.aliases.join(', ')}`);
    if (a.severity) out.push(`  severity: ${JSON.stringify(a.severity)}`);
    for (const r of a.affected) {
      const ranges = (r.ranges ?? [])
        .map((g) =>
          g.events
            .map((e) =>
              Object.entries(e)
                .map(([k, v]) => `${k} ${v}`)
                .join(''),
            )
            .join(', '),
        )
        .join(' | ');
      out.push(
        `  ${r.ecosystem} ${r.packageRaw}: ${r.status}${ranges ? ` (${ranges})` : ''}${r.versions ? ` versions: ${r.versions.length}` : ''}`,
      );
    }
  }
  for (const e of enrich) {
    if (e.kev)
      out.push(
        `${e.cve}: KNOWN EXPLOITED (CISA KEV)${e.kev.dueDate ? `, due ${e.kev.dueDate}` : ''}${e.kev.name ? ` — ${e.kev.name}` : ''}`,
      );
    if (e.epss)
      out.push(
        `${e.cve}: EPSS ${(e.epss.score * 100).toFixed(2)}% (percentile ${(e.epss.percentile * 100).toFixed(1)})`,
      );
  }
  return out.join('\n');
}
