import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CustomsError } from '../../errors.js';

/**
 * Temporary files a killed writer left beside the database (`customs.db.tmp-PID`, its journal, a
 * half-downloaded bundle or delta): removed when their writer is gone.
 */
export function removeStale(path: string): void {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\.(?:tmp|bundle|download|delta|publish)-(\d+)(?:[-.].*)?$/.exec(n.slice(base.length));
    if (!n.startsWith(base) || !m) continue;
    if (Number(m[1]) !== process.pid && alive(Number(m[1]))) continue;
    rmSync(join(dir, n), { force: true, recursive: true });
  }
}

/**
 * One writer at a time, the next waiting for its turn (up to `waitMs`): a lock file holding the
 * writer's pid; a dead writer's lock is taken over.
 */
export async function lockWait(path: string, waitMs = 15 * 60_000): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return lock(path);
    } catch (err) {
      if (
        !(err instanceof CustomsError) ||
        !/another Customs process/.test(err.message) ||
        Date.now() > deadline
      )
        throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** One writer at a time: a lock file holding the writer's pid; a dead writer's lock is taken over. */
export function lock(path: string): () => void {
  const file = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && alive(pid)) {
        throw new CustomsError(`another Customs process (pid ${pid}) is updating the database at ${path}`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new CustomsError(`cannot lock the database at ${path}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
