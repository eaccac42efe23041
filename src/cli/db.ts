import type { Command } from 'commander';
import { CustomsError, withInput } from '../errors.js';
import { defaultDbPath } from '../vulndb/paths.js';
import type { AdvisoryView } from '../vulndb/store.js';

// The database modules (SQLite, zstd, YAML, zip) load only when a db command runs.

const STALE_DAYS = 7;

function dbPathOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { db?: string };
  return defaultDbPath(opts.db);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('the vulnerability database: import feeds, show status and advisories')
    .option('--db <path>', 'database file (default: $CUSTOMS_DB or the user cache folder)');

  db.command('update')
    .description('download the feeds (only what changed since last time) and rebuild the database')
    .option(
      '--only <sources>',
      'comma-separated sources, e.g. osv:PyPI,osv:Go,alpine-secdb (osv = every OSV ecosystem)',
    )
    .option('--timeout <seconds>', 'end a download that sends nothing for this long', '30')
    .action(async (opts: { only?: string; timeout: string }, cmd: Command) => {
      const file = dbPathOf(cmd);
      const { configuredSources, selectSources } = await import('../vulndb/sources.js');
      const { updateDatabase } = await import('../vulndb/update.js');
      const sources = selectSources(configuredSources(), opts.only);
      const tty = process.stderr.isTTY;
      let last = 0;
      const started = Date.now();
      const outcomes = await updateDatabase(file, sources, {
        idleTimeoutMs: Number(opts.timeout) * 1000,
        onProgress: (name, n, total) => {
          if (!tty || Date.now() - last < 100) return;
          last = Date.now();
          const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
          process.stderr.write(`\r\x1b[K${name}: ${mb(n)}${total ? ` / ${mb(total)}` : ''} MB`);
        },
      });
      if (tty) process.stderr.write('\r\x1b[K');
      for (const o of outcomes) {
        const line = `${o.name}: ${o.status}${o.records !== undefined ? ` (${o.records} records)` : ''}${o.bytes ? `, ${(o.bytes / 1024 / 1024).toFixed(1)} MB` : ''}${o.error ? ` — ${o.error}; its previous data is kept` : ''}`;
        if (o.status === 'failed') err(`customs: warning: ${line}`);
        else process.stdout.write(line + '\n');
      }
      process.stdout.write(`database ${file} updated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      if (outcomes.length && outcomes.every((o) => o.status === 'failed'))
        throw new CustomsError('every source failed; the database is unchanged');
    });

  db.command('import')
    .description(
      'add feed files from a folder, a zip or a file (OSV JSON/YAML, Alpine secdb, Debian tracker, KEV, EPSS, NVD)',
    )
    .argument('<path...>', 'folders, zips or files, as upstream publishes them')
    .option('-q, --quiet', 'no per-file warnings')
    .action(async (paths: string[], opts: { quiet?: boolean }, cmd: Command) => {
      const file = dbPathOf(cmd);
      const started = Date.now();
      // A bundle (from db export) is a whole database: it replaces the current one, checksums first.
      const { importBundle, isZstdFile } = await import('../vulndb/bundle.js');
      const { importPath } = await import('../vulndb/import.js');
      const { VulnStore } = await import('../vulndb/store.js');
      for (const p of paths.filter(isZstdFile)) {
        try {
          const m = await importBundle(p, file);
          process.stdout.write(
            `${p}: database bundle built ${m.builtAt ?? '?'} installed (checksums verified)\n`,
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
    });

  db.command('export')
    .description(
      'write the database as a bundle (tar.zst with a checksummed manifest) for an air-gapped site',
    )
    .argument('<file>', 'e.g. customs-db.tar.zst')
    .action(async (out: string, _opts: unknown, cmd: Command) => {
      const { exportBundle } = await import('../vulndb/bundle.js');
      const m = await exportBundle(dbPathOf(cmd), out);
      process.stdout.write(
        `${out}: database built ${m.builtAt ?? '?'} (${(m.files[0].size / 1024 / 1024).toFixed(1)} MB, sha256 ${m.files[0].sha256.slice(0, 16)}…)\n`,
      );
    });

  db.command('status')
    .description('schema version, build time, and per-source counts and age')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { VulnStore } = await import('../vulndb/store.js');
      const store = VulnStore.openRead(dbPathOf(cmd));
      try {
        const builtAt = store.meta('built_at');
        const ageDays = builtAt ? (Date.now() - Date.parse(builtAt)) / 86_400_000 : Infinity;
        const status = {
          path: store.path,
          schemaVersion: Number(store.meta('schema_version')),
          builtAt,
          stale: ageDays > STALE_DAYS,
          sources: store.sources(),
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
        if (status.stale)
          err(`customs: warning: the database is older than ${STALE_DAYS} days; run "customs db update"`);
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
