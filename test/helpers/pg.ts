import pg from 'pg';

/** The PostgreSQL server the scale-out tests use (CI starts it; CUSTOMS_TEST_PG elsewhere). */
export const PG_ADMIN_URL = process.env.CUSTOMS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Run one statement as the admin; false when PostgreSQL is not there or refuses it. */
export async function pgQuery(q: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query(q);
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
