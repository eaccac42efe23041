// A scan in a process of its own: the worker's memory cap and deadline hold whatever the image
// does, and a crash costs one job, not the worker.
import { CustomsError } from '../errors.js';
import type { ScanOptions } from '../scan/scan.js';
import { runScan } from '../scan/session.js';

process.on('message', (msg: { target: string; opts: ScanOptions }) => {
  runScan({ ...msg.opts, source: { image: msg.target }, scanners: new Set(['vuln', 'secret']) })
    .then(({ result }) => process.send!({ ok: true, result }, () => process.exit(0)))
    .catch((err: unknown) =>
      process.send!(
        {
          ok: false,
          error:
            err instanceof CustomsError ? err.line() : `internal error: ${(err as Error)?.message ?? err}`,
        },
        () => process.exit(0),
      ),
    );
});
