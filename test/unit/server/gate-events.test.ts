import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GateEvents } from '../../../src/server/gate-events.js';
import { PG_ADMIN_URL, pgQuery } from '../../helpers/pg.js';

const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return ok();
};

// A change published while this replica's notification connection is down must still reach the
// others once it is back (before, publish() dropped it and they served stale decisions for a while).
describe(
  'gate change broadcasts across replicas',
  { skip: !(await pgQuery('SELECT 1')) && 'no PostgreSQL' },
  () => {
    it(
      'a broadcast made while reconnecting is sent once the connection is back',
      { timeout: 30_000 },
      async () => {
        const a = new GateEvents(PG_ADMIN_URL);
        const b = new GateEvents(PG_ADMIN_URL);
        let heard = 0;
        b.onChange(() => heard++);
        let aCleared = 0;
        a.onChange(() => aCleared++);
        try {
          await a.start();
          await b.start();
          a.publish();
          assert.ok(await until(() => heard === 1, 5000), 'b hears an ordinary broadcast');

          // Cut a's connection from the server side, as a failover or network blip would.
          const pid = (a as unknown as { client: { processID: number } }).client.processID;
          await pgQuery(`SELECT pg_terminate_backend(${pid})`);
          assert.ok(
            await until(() => aCleared >= 1, 5000),
            'a clears its own caches when it loses the connection',
          );
          a.publish(); // during the reconnect (one second)
          assert.ok(
            await until(() => heard === 2, 8000),
            'b hears the change published while a was reconnecting',
          );
        } finally {
          await a.close();
          await b.close();
        }
      },
    );
  },
);
