import { hostname } from 'node:os';
import pg from 'pg';

/** The periodic tasks of which a deployment must run exactly one, whatever the number of replicas. */
export type SingletonName =
  | 'db-updater'
  | 'alerts'
  | 'poller'
  | 'kube-inventory'
  | 'gate-watch'
  | 'audit-export'
  | 'attest-refresh'
  | 'verdicts';

/** A singleton task: started when this replica becomes its leader; the returned function stops it. */
export interface SingletonTask {
  name: SingletonName;
  start(): () => void;
}

export interface Leadership {
  /** This replica's name, as shown in logs, /metrics and GET /api/v1/cluster. */
  readonly replica: string;
  /** Which singletons this replica runs now. */
  status(): Record<string, boolean>;
  /** Every singleton and the replica leading it (null: nobody at this moment). */
  leaders(): Promise<Array<{ task: string; replica: string | null }>>;
  /** Stop every task and give up its lock, so another replica takes over at once. */
  release(): Promise<void>;
}

type Log = (msg: string, fields?: object) => void;

const replicaName = (): string => `${hostname()}:${process.pid}`;

/**
 * One process owns an embedded SQLite store, so it leads every singleton from the start.
 */
export function soleLeader(tasks: SingletonTask[], log: Log): Leadership {
  const stops = tasks.map((t) => t.start());
  const replica = replicaName();
  return {
    replica,
    status: () => Object.fromEntries(tasks.map((t) => [t.name, true])),
    leaders: async () => tasks.map((t) => ({ task: t.name, replica })),
    release: async () => {
      for (const s of stops) s();
      log('singletons stopped', { replica });
    },
  };
}

/** The lock namespace: pg_try_advisory_lock(key1, key2) with key1 fixed and key2 the task's name. */
const NS = "hashtext('customs-singleton')";

/**
 * Leader election on PostgreSQL with session-level advisory locks, one per singleton, held on one
 * dedicated connection. Chosen over pg-boss singleton schedules because the tasks here are
 * long-lived loops (timers, a dispatcher, a cluster watch), not one-off jobs: a lock held for the
 * life of a connection says "this replica runs it" for as long as the replica lives, and the
 * database drops it by itself when the connection goes — a replica killed with SIGKILL loses its
 * socket at once, and each survivor retries every `checkMs` (5 s), well inside the 30 s promise.
 * A replica that loses its connection (the database restarted, a network cut) stops its tasks
 * before it tries again, so two replicas never run one task knowingly. `application_name` names
 * the replica, so pg_locks joined with pg_stat_activity tells anyone who leads what.
 */
export class PgLeadership implements Leadership {
  readonly replica = replicaName();
  private client?: pg.Client;
  private connecting?: Promise<pg.Client | undefined>;
  private readonly held = new Map<SingletonName, () => void>();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly tasks: SingletonTask[],
    private readonly log: Log,
    private readonly checkMs = 5000,
  ) {}

  /** Take whatever locks are free now, then keep trying. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.checkMs);
    this.timer.unref();
  }

  status(): Record<string, boolean> {
    return Object.fromEntries(this.tasks.map((t) => [t.name, this.held.has(t.name)]));
  }

  async leaders(): Promise<Array<{ task: string; replica: string | null }>> {
    const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000 });
    await c.connect();
    try {
      const { rows } = await c.query<{ objid: number; app: string }>(
        `SELECT l.objid::int AS objid, a.application_name AS app
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.classid::int = ${NS}
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      const { rows: ids } = await c.query<{ name: string; id: number }>(
        `SELECT n AS name, hashtext(n) AS id FROM unnest($1::text[]) AS n`,
        [this.tasks.map((t) => t.name)],
      );
      return ids.map(({ name, id }) => {
        const r = rows.find((x) => x.objid === id);
        return { task: name, replica: r ? r.app.replace(/^customs-replica /, '') : null };
      });
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const names = [...this.held.keys()];
    this.stopAll();
    const c = this.client;
    this.client = undefined;
    if (c) {
      await c.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await c.end().catch(() => undefined);
    }
    this.log('singleton locks released', { replica: this.replica, tasks: names });
  }

  private stopAll(): void {
    for (const [name, stop] of this.held) {
      try {
        stop();
      } catch (err) {
        this.log('singleton did not stop cleanly', { task: name, reason: (err as Error).message });
      }
    }
    this.held.clear();
  }

  /** The connection went: its locks are gone with it, so the tasks stop before anyone else starts them. */
  private lost(reason: string): void {
    const c = this.client;
    this.client = undefined;
    c?.end().catch(() => undefined);
    if (this.held.size) {
      this.log('singleton leadership lost', { replica: this.replica, tasks: [...this.held.keys()], reason });
      this.stopAll();
    }
  }

  private connect(): Promise<pg.Client | undefined> {
    this.connecting ??= (async () => {
      const c = new pg.Client({
        connectionString: this.url,
        application_name: `customs-replica ${this.replica}`.slice(0, 63),
        keepAlive: true,
        keepAliveInitialDelayMillis: 5000,
        connectionTimeoutMillis: 5000,
        // A leader cut off from PostgreSQL (a partition, no FIN, no RST) must notice: its check
        // fails after this and it stops its tasks (lost()) before the lock can pass to another.
        query_timeout: 5000,
      });
      c.on('error', (err) => this.lost(err.message));
      c.on('end', () => {
        if (this.client === c) this.lost('connection closed');
      });
      try {
        await c.connect();
        // And PostgreSQL must notice too: by default it keeps a silent peer's session (and so its
        // locks) for about two hours of TCP keepalive. With these it drops it within ~15 s, after
        // the cut-off replica has stopped (~10 s), so no task runs twice and none stays orphaned.
        await c.query(
          "SELECT set_config('tcp_keepalives_idle', '5', false), set_config('tcp_keepalives_interval', '2', false), set_config('tcp_keepalives_count', '3', false), set_config('tcp_user_timeout', '12000', false)",
        );
        this.client = c;
        return c;
      } catch (err) {
        this.log('leader election cannot reach the store', { reason: (err as Error).message });
        await c.end().catch(() => undefined);
        return undefined;
      }
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * A leader checks in every checkMs (its session's state_change moves). One silent for three
   * checks and 15 s at least is cut off or stuck: PostgreSQL may keep its session, and so the lock,
   * for as long as TCP keeps a half-open connection (hours, or for ever behind a proxy that still
   * answers). Its session is ended so the lock passes; the silent replica's own check has timed
   * out by then (query_timeout) and stopped its tasks, so they never run twice.
   */
  private async evictSilentHolder(c: pg.Client, task: string): Promise<void> {
    const silentSeconds = Math.max(15, (3 * this.checkMs) / 1000);
    const { rows } = await c.query<{ pid: number; app: string }>(
      `SELECT a.pid, a.application_name AS app
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid::int = ${NS} AND l.objid::int = hashtext($1)
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND a.state = 'idle' AND a.state_change < now() - make_interval(secs => $2)`,
      [task, silentSeconds],
    );
    for (const r of rows) {
      await c.query('SELECT pg_terminate_backend($1)', [r.pid]);
      this.log('silent singleton leader ended', {
        task,
        leader: r.app.replace(/^customs-replica /, ''),
        silentSeconds,
      });
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed) return;
    this.ticking = true;
    try {
      const c = this.client ?? (await this.connect());
      if (!c) return;
      const free = this.tasks.filter((t) => !this.held.has(t.name));
      if (!free.length) {
        // Everything is ours: only make sure the connection (and so the locks) still lives.
        await c.query('SELECT 1');
        return;
      }
      for (const t of free) {
        const { rows } = await c.query<{ ok: boolean }>(
          `SELECT pg_try_advisory_lock(${NS}, hashtext($1)) AS ok`,
          [t.name],
        );
        if (!rows[0]?.ok) await this.evictSilentHolder(c, t.name);
        if (!rows[0]?.ok || this.closed || this.client !== c) continue;
        this.held.set(t.name, t.start());
        this.log('singleton leader', { task: t.name, replica: this.replica });
      }
    } catch (err) {
      this.lost((err as Error).message);
    } finally {
      this.ticking = false;
    }
  }
}

/**
 * Run `fn` while holding a PostgreSQL session advisory lock named `name`, waiting for it: one
 * replica at a time (the database update across replicas). The lock lives on its own connection,
 * so a replica killed mid-way frees it at once.
 */
export async function exclusively<T>(url: string, name: string, fn: () => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(`SELECT pg_advisory_lock(${NS}, hashtext($1))`, [name]);
    return await fn();
  } finally {
    await c.end().catch(() => undefined);
  }
}
