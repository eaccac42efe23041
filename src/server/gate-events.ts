import pg from 'pg';

/**
 * "The gate changed" (an approval, a rejection, an exception, a setting), told to every replica:
 * each keeps short-lived decision caches for admission, and a rejection made on one replica must
 * not be contradicted by another's cache. On PostgreSQL through LISTEN/NOTIFY on one connection
 * of its own; on SQLite there is one server, and the local caches are all there is.
 */
export class GateEvents {
  private client?: pg.Client;
  private readonly listeners: Array<() => void> = [];
  private closed = false;
  /** A change made while the connection was down: told once it is back, so no broadcast is lost. */
  private pending = false;
  private readonly dropped = new WeakSet<pg.Client>();

  constructor(
    private readonly url: string | undefined,
    private readonly log: (msg: string, fields?: object) => void = () => {},
  ) {}

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Tell the other replicas (this one's caches are cleared by the caller, at once). */
  publish(): void {
    if (!this.url) return;
    const c = this.client;
    if (!c) {
      this.pending = true;
      return;
    }
    c.query("SELECT pg_notify('customs_gate', '')").catch(() => {
      this.pending = true;
    });
  }

  async start(): Promise<void> {
    if (!this.url || this.closed) return;
    const c = new pg.Client({ connectionString: this.url, keepAlive: true });
    c.on('notification', () => {
      for (const fn of this.listeners) fn();
    });
    c.on('error', (err) => this.lost(c, err.message));
    c.on('end', () => this.lost(c, 'connection closed'));
    try {
      await c.connect();
      await c.query('LISTEN customs_gate');
      this.client = c;
      if (this.pending) {
        this.pending = false;
        this.publish();
      }
    } catch (err) {
      this.lost(c, (err as Error).message);
    }
  }

  /** Reconnect; meanwhile (and for what was missed) every cache is cleared: stale never wins. */
  private lost(c: pg.Client, reason: string): void {
    // 'error' and 'end' both fire for one dropped connection: reconnect once, or a second
    // connection would be opened and leaked on every interruption.
    if (this.dropped.has(c)) return;
    this.dropped.add(c);
    if (this.client === c) this.client = undefined;
    c.end().catch(() => undefined);
    for (const fn of this.listeners) fn();
    if (this.closed) return;
    this.log('gate change notifications interrupted; reconnecting', { reason });
    setTimeout(() => void this.start(), 1000).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
