import { rmSync } from 'node:fs';
import { CustomsError } from '../errors.js';
import { DEFAULT_DB_REPOSITORY, dbRepositories, pullDatabase } from '../vulndb/install.js';
import { trustedKeys } from '../vulndb/signing.js';
import { configuredSources } from '../vulndb/sources.js';
import { VulnStore } from '../vulndb/store.js';
import { updateDatabase } from '../vulndb/update.js';

/**
 * First use: with no database yet, pull the signed prebuilt one (CUSTOMS_DB_REPOSITORY or the
 * default repository; a few retries at most so that an offline machine answers soon); when
 * nothing can be fetched, say in one line how to get one. CUSTOMS_OFFLINE=1 skips the attempt.
 * `say` gets the progress lines (standard error in the CLI; nothing with --quiet).
 */
export async function ensureDatabase(
  dbPath: string,
  say: (line: string) => void = () => {},
  flags: { insecure?: boolean } = {},
): Promise<void> {
  if (VulnStore.exists(dbPath)) return;
  const how = `no vulnerability database at ${dbPath}; run "customs db update" (online) or "customs db import PATH" (offline)`;
  if (process.env.CUSTOMS_OFFLINE === '1') throw new CustomsError(how);
  const sources = dbRepositories();
  say(`no vulnerability database yet; pulling it from ${sources[0]} (first use)…`);
  try {
    const r = await pullDatabase(dbPath, sources, {
      keys: trustedKeys(),
      registry: { insecure: flags.insecure, timeoutMs: 15_000, retries: 1, backoffMs: 200 },
    });
    say(`database version ${r.version} installed (${(r.bytes / 1024 / 1024).toFixed(1)} MB)`);
  } catch (err) {
    if (!(err instanceof CustomsError)) throw err;
    // The default repository answered but holds no artifact (not published there yet, or
    // private): build from the upstream feeds as before rather than leave a new user with nothing.
    // Offline (no answer at all) goes straight to the one-line advice.
    const reachedButEmpty =
      /manifest unknown|needs credentials|authentication failed|not a Customs database/.test(err.message);
    if (sources.length === 1 && sources[0] === DEFAULT_DB_REPOSITORY && reachedButEmpty) {
      say(
        `${sources[0]} has no database to pull (${err.message}); building it from the upstream feeds instead…`,
      );
      const outcomes = await updateDatabase(dbPath, configuredSources(), {
        retries: 0,
        idleTimeoutMs: 15_000,
      }).catch(() => []);
      if (outcomes.some((o) => o.status !== 'failed') && VulnStore.exists(dbPath)) return;
      rmSync(dbPath, { force: true });
    }
    throw new CustomsError(`${how} (the download failed: ${err.message})`);
  }
}
