import type { Selectable } from 'kysely';
import type { Tables } from './schema.js';
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { CustomsError } from '../errors.js';
import { isPersonRole, isRole, PERMISSIONS, ROLES } from '../model/roles.js';
import { now, type Db } from './db.js';

const scryptAsync = promisify(scrypt) as (
  pw: string,
  salt: Buffer,
  len: number,
  o: object,
) => Promise<Buffer>;
// scrypt is memory-hard: N=2^15, r=8 costs 32 MiB and ~50 ms a try here.
const KDF = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export interface TokenRecord {
  id: number;
  name: string;
  role: string;
  scopes: string[] | null;
  userId: number | null;
  /** The person who issued it (null: issued before owners were kept). */
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** Environments it may act for (null: every one). */
  environments: string[] | null;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Parse `30d`, `12h`, `90m` into an expiry time from now. */
export function expiryFrom(spec: string | undefined): string | null {
  if (!spec) return null;
  const m = /^(\d+)\s*([mhd])$/.exec(spec.trim());
  if (!m) throw new CustomsError(`expiry "${spec}": use a number and m, h or d (e.g. 30d)`);
  const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
  return new Date(Date.now() + ms).toISOString();
}

export async function createToken(
  db: Db,
  t: {
    name: string;
    role: string;
    scopes?: string[];
    expiresAt?: string | null;
    userId?: number | null;
    environments?: string[] | null;
    createdBy?: string | null;
  },
): Promise<{ id: number; token: string }> {
  if (!isRole(t.role)) throw new CustomsError(`unknown role "${t.role}"; use one of ${ROLES.join(', ')}`);
  const bad = (t.scopes ?? []).filter((s) => !(PERMISSIONS as readonly string[]).includes(s));
  if (bad.length) throw new CustomsError(`unknown scope(s) ${bad.join(', ')}; use ${PERMISSIONS.join(', ')}`);
  const token = `cst_${randomBytes(32).toString('base64url')}`;
  const row = await db.k
    .insertInto('tokens')
    .values({
      name: t.name,
      role: t.role,
      scopes: t.scopes?.length ? JSON.stringify(t.scopes) : null,
      hash: hashToken(token),
      user_id: t.userId ?? null,
      created_by: t.createdBy ?? null,
      created_at: now(),
      expires_at: t.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
      environments: t.environments?.length ? JSON.stringify(t.environments) : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

/** A token row as read (everything but the hash). */
type TokenRow = Omit<Selectable<Tables['tokens']>, 'hash'>;

const record = (r: TokenRow): TokenRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  scopes: r.scopes ? (JSON.parse(r.scopes) as string[]) : null,
  userId: r.user_id,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  environments: r.environments ? (JSON.parse(r.environments) as string[]) : null,
});

const TOKEN_COLUMNS = [
  'id',
  'name',
  'role',
  'scopes',
  'user_id',
  'created_by',
  'created_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'environments',
] as const;

/** The live token a bearer string names: unknown, revoked and expired tokens give undefined. */
export async function findToken(db: Db, token: string): Promise<TokenRecord | undefined> {
  if (!token.startsWith('cst_')) return undefined;
  const row = await db.k
    .selectFrom('tokens')
    .select(TOKEN_COLUMNS)
    .where('hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.revoked_at || (row.expires_at && row.expires_at <= now())) return undefined;
  // Last use is kept to the minute, so a busy token does not write on every request.
  if (!row.last_used_at || Date.now() - Date.parse(row.last_used_at) > 60_000)
    await db.k.updateTable('tokens').set({ last_used_at: now() }).where('id', '=', row.id).execute();
  return record(row);
}

export async function listTokens(db: Db): Promise<TokenRecord[]> {
  const rows = await db.k.selectFrom('tokens').select(TOKEN_COLUMNS).orderBy('id').execute();
  return rows.map(record);
}

/** The name and issuer of each of these tokens (how the audit log and approvals name people). */
export async function tokenOwners(
  db: Db,
  ids: number[],
): Promise<Map<number, { name: string; createdBy: string | null }>> {
  const out = new Map<number, { name: string; createdBy: string | null }>();
  for (let i = 0; i < ids.length; i += 300) {
    const rows = await db.k
      .selectFrom('tokens')
      .select(['id', 'name', 'created_by'])
      .where('id', 'in', ids.slice(i, i + 300))
      .execute();
    for (const r of rows) out.set(r.id, { name: r.name, createdBy: r.created_by });
  }
  return out;
}

export async function revokeToken(db: Db, id: number): Promise<boolean> {
  const r = await db.k
    .updateTable('tokens')
    .set({ revoked_at: now() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32, KDF);
  return `scrypt$${KDF.N}$${KDF.r}$${KDF.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt') return false;
  const want = Buffer.from(key, 'base64');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64'), want.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: KDF.maxmem,
  });
  return timingSafeEqual(want, got);
}

export async function createUser(
  db: Db,
  u: { name: string; role: string; password: string; environments?: string[] | null },
): Promise<number> {
  if (!isPersonRole(u.role)) throw new CustomsError(`unknown user role "${u.role}"`);
  if (u.password.length < 12) throw new CustomsError('a password needs at least 12 characters');
  const row = await db.k
    .insertInto('users')
    .values({
      name: u.name,
      role: u.role,
      password_hash: await hashPassword(u.password),
      created_at: now(),
      environments: u.environments?.length ? JSON.stringify(u.environments) : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A user whose password matches, or undefined; the KDF runs even for unknown names. */
export async function authenticate(
  db: Db,
  name: string,
  password: string,
): Promise<{ id: number; role: string; environments: string[] | null } | undefined> {
  const u = await db.k
    .selectFrom('users')
    .select(['id', 'role', 'password_hash', 'environments'])
    .where('name', '=', name)
    .executeTakeFirst();
  const ok = await checkPassword(password, u?.password_hash ?? DUMMY);
  return u && ok
    ? {
        id: u.id,
        role: u.role,
        environments: u.environments ? (JSON.parse(u.environments) as string[]) : null,
      }
    : undefined;
}

export interface UserRecord {
  id: number;
  name: string;
  role: string;
  environments: string[] | null;
  createdAt: string;
}

export async function listUsers(db: Db): Promise<UserRecord[]> {
  const rows = await db.k
    .selectFrom('users')
    .select(['id', 'name', 'role', 'environments', 'created_at'])
    .orderBy('id')
    .execute();
  return rows.map((u) => ({
    id: u.id,
    name: u.name,
    role: u.role,
    environments: u.environments ? (JSON.parse(u.environments) as string[]) : null,
    createdAt: u.created_at,
  }));
}

/** Change a user's role or environments; their live sessions end (they carry the old grant). */
export async function updateUser(
  db: Db,
  id: number,
  u: { role?: string; environments?: string[] | null },
): Promise<UserRecord | undefined> {
  if (u.role !== undefined && !isPersonRole(u.role)) throw new CustomsError(`unknown user role "${u.role}"`);
  const set: { role?: string; environments?: string | null } = {};
  if (u.role !== undefined) set.role = u.role;
  if (u.environments !== undefined)
    set.environments = u.environments?.length ? JSON.stringify(u.environments) : null;
  if (Object.keys(set).length) {
    const r = await db.k.updateTable('users').set(set).where('id', '=', id).executeTakeFirst();
    if (!Number(r.numUpdatedRows)) return undefined;
    await db.k
      .updateTable('tokens')
      .set({ revoked_at: now() })
      .where('user_id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }
  return (await listUsers(db)).find((x) => x.id === id);
}
const DUMMY = `scrypt$${KDF.N}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

/**
 * A user who signs in through the OIDC provider: created on first sign-in, role and environments
 * refreshed from the provider's groups every time. They have no password here ("!oidc" matches no
 * scrypt hash), so password sign-in never works for them.
 */
export async function upsertOidcUser(
  db: Db,
  u: { name: string; role: string; environments: string[] | null },
): Promise<{ id: number; created: boolean }> {
  const environments = u.environments?.length ? JSON.stringify(u.environments) : null;
  const existing = await db.k
    .selectFrom('users')
    .select(['id', 'password_hash'])
    .where('name', '=', u.name)
    .executeTakeFirst();
  if (existing) {
    if (existing.password_hash !== '!oidc')
      throw new CustomsError(
        `${u.name} is a password user here; an admin must remove it before it can sign in through OIDC`,
      );
    await db.k
      .updateTable('users')
      .set({ role: u.role, environments })
      .where('id', '=', existing.id)
      .execute();
    return { id: existing.id, created: false };
  }
  const row = await db.k
    .insertInto('users')
    .values({ name: u.name, role: u.role, password_hash: '!oidc', created_at: now(), environments })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, created: true };
}
