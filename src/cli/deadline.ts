import { Worker } from 'node:worker_threads';
import { stage } from '../stage.js';
import { secondsFlag } from './scan-flags.js';

/**
 * --deadline: a scan that runs longer ends with one line naming the stage it was in (a hostile
 * image must not hold a CI job or a worker forever), exit 1. The timer does not keep the process
 * alive. A timer cannot fire while the main thread is stuck in a synchronous loop, so a watchdog
 * thread interrupts such a loop shortly after; the timer, due by then, ends the scan the same way.
 */
/**
 * Commands whose --deadline bounds their own work and ends it cleanly (db update: a download,
 * its temp files removed), not the whole process.
 */
export const ownDeadline = new WeakSet<object>();

export function startDeadline(value: string, target: string | undefined): void {
  const seconds = secondsFlag(value, '--deadline');
  const end = () => {
    process.stderr.write(
      `customs: ${target ? `${target}: ` : ''}the scan passed its deadline of ${seconds} s while ${stage()} (raise --deadline)\n`,
    );
    process.exit(1);
  };
  setTimeout(end, seconds * 1000).unref();
  // What the watchdog calls from inside a stuck loop: a kept-alive timer that ends the scan as soon
  // as the loop is stopped (nothing else may be left to keep the process running by then).
  (globalThis as Record<string, unknown>)[WATCHDOG_HOOK] = () => setTimeout(end, 0);
  startWatchdog(seconds * 1000 + Math.min(1000, seconds * 250));
}

/*
 * The watchdog thread's whole program. At `ms` it connects to the main thread's inspector and asks
 * V8 to terminate the JavaScript running there: the one way Node offers to stop a synchronous loop
 * from outside it (Runtime.terminateExecution arrives as an interrupt, even mid-loop). Should the
 * inspector be missing from this Node build, the process is killed instead.
 */
const WATCHDOG_HOOK = '__customsDeadline';
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setTimeout(() => {
  try {
    const session = new (require('node:inspector').Session)();
    session.connectToMainThread();
    // Both at once: the first answer would only come back once the loop has been stopped.
    session.post('Runtime.evaluate', { expression: 'globalThis.${WATCHDOG_HOOK}()' });
    session.post('Runtime.terminateExecution', () => session.disconnect());
  } catch {
    process.kill(process.pid, 'SIGKILL');
  }
}, workerData);
`;

function startWatchdog(ms: number): void {
  new Worker(WATCHDOG, { eval: true, workerData: ms, stdout: false, stderr: false }).unref();
}
