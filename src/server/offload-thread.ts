// A worker thread of `customs server`: the CPU-heavy side of what clients send (report parsing and
// storing, matching, a scan's bookkeeping) runs here, on its own connection to the store, so the
// HTTP event loop (the API, /healthz, the admission webhook) never waits for it.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { CustomsError } from '../errors.js';
import type { Job } from '../jobs/queue.js';
import { runJob } from '../jobs/scan-job.js';
import { resolvePolicy } from '../policy/policy.js';
import { closeStore } from '../scan/scan.js';
import { storeReport } from '../services/reports.js';
import { rematchFleet } from '../monitor/rematch.js';
import { openDb } from '../store/db.js';
import { SecretBox } from '../store/secret-box.js';
import { loadSigner } from '../gate/server-key.js';
import { verdictsFor } from '../gate/verdicts.js';
import type { OffloadConfig, OffloadTask } from './offload.js';

// Below the event loop's priority (Linux: a thread's own nice value, through its thread id), so
// on a busy machine the API and the admission webhook get the CPU first.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid) setPriority(tid, 10);
} catch {
  /* not Linux: the same priority as the event loop */
}

const cfg = workerData as OffloadConfig;
const port = parentPort!;
const ready = (async () => {
  const db = await openDb({ database: cfg.database, data: cfg.data });
  const box = SecretBox.fromEnvOrFile(cfg.secretKeyFile);
  // Audit entries written here (a report that disagrees with the server's scan) are signed too:
  // an unsigned entry after signed ones reads as a broken chain.
  db.signer = await loadSigner(db, box);
  return { db, box, policy: resolvePolicy(cfg.policyFile).policy };
})();

port.on('message', (t: OffloadTask) => {
  void (async () => {
    try {
      const { db, box, policy } = await ready;
      if (t.type === 'rematch') {
        const log = (msg: string, fields?: object) => port.postMessage({ type: 'log', msg, fields });
        try {
          const value = await rematchFleet({ ...t.args, db, policy, log });
          port.postMessage({ id: t.id, ok: true, value });
        } finally {
          // The old database file is removed once this answers: let it go here too.
          closeStore(t.args.oldPath);
        }
      } else if (t.type === 'rejudge') {
        const value = await verdictsFor(db, policy).rejudge();
        port.postMessage({ id: t.id, ok: true, value });
      } else if (t.type === 'report') {
        const value = await storeReport(db, Buffer.concat(t.chunks), t.by);
        port.postMessage({ id: t.id, ok: true, value });
      } else {
        await runJob(t.job as Job, {
          db,
          box,
          policy,
          dbPath: cfg.dbPath,
          deadlineMs: cfg.deadlineMs,
          memoryMb: cfg.memoryMb,
          yieldCpu: true,
          log: (msg, fields) => port.postMessage({ type: 'log', msg, fields }),
          onScan: (ms, outcome, reason) => port.postMessage({ type: 'scan', ms, outcome, reason }),
          afterResult: (digest) => port.postMessage({ type: 'result', digest }),
        });
        port.postMessage({ id: t.id, ok: true });
      }
    } catch (err) {
      port.postMessage({
        id: t.id,
        ok: false,
        user: err instanceof CustomsError,
        message: err instanceof CustomsError ? err.line() : ((err as Error)?.message ?? String(err)),
      });
    }
  })();
});
