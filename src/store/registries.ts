import { CustomsError } from '../errors.js';
import type { RegistryOptions } from '../image/registry/client.js';
import { now, type Db } from './db.js';
import type { SecretBox } from './secret-box.js';

export interface RegistrySecrets {
  username?: string;
  password?: string;
  /** Shared secret a registry signs or authenticates its webhooks with (GitHub, Harbor, ACR…). */
  webhookSecret?: string;
  /** Where pulling and pushing need different accounts: the account attestations are pushed with. */
  pushUsername?: string;
  pushPassword?: string;
}

const SECRET_FIELDS = ['username', 'password', 'webhookSecret', 'pushUsername', 'pushPassword'] as const;

export interface RegistryRecord {
  id: number;
  host: string;
  url: string;
  insecure: boolean;
  hasCredentials: boolean;
  hasWebhookSecret: boolean;
  /** The server pushes signed scans and verdicts beside this registry's images. */
  attest: boolean;
  hasPushCredentials: boolean;
  createdAt: string;
}

/** `https://host[:port]` (or a bare host) → the host[:port] image references use. */
export function registryHost(url: string): string {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    throw new CustomsError(`not a registry URL: ${url}`);
  }
  if (!['http:', 'https:'].includes(u.protocol) || u.pathname.replace(/\/+$/, '') || u.search || u.username)
    throw new CustomsError(`a registry URL is scheme://host[:port] only: ${url}`);
  return u.host.toLowerCase();
}

export async function upsertRegistry(
  db: Db,
  box: SecretBox,
  r: { url: string; insecure?: boolean; attest?: boolean } & RegistrySecrets,
): Promise<RegistryRecord> {
  const host = registryHost(r.url);
  // Changing a registry's other settings must not lose its secrets: a field left out keeps the
  // stored value, an empty string clears it (the API never returns secrets, so a client re-posting
  // what it read back could not resend them).
  const omitted = SECRET_FIELDS.some((f) => r[f] === undefined);
  const row = omitted
    ? await db.k.selectFrom('registries').select('secrets').where('host', '=', host).executeTakeFirst()
    : undefined;
  const kept: RegistrySecrets = row?.secrets ? box.open<RegistrySecrets>(row.secrets) : {};
  const secrets: RegistrySecrets = {};
  for (const f of SECRET_FIELDS) {
    const v = r[f] === undefined ? kept[f] : r[f];
    if (v) secrets[f] = v;
  }
  const sealed = Object.values(secrets).some(Boolean) ? box.seal(secrets) : null;
  const values = {
    host,
    url: r.url,
    insecure: r.insecure ? 1 : 0,
    secrets: sealed,
    attest: r.attest ? 1 : 0,
    created_at: now(),
  };
  await db.k
    .insertInto('registries')
    .values(values)
    .onConflict((oc) =>
      oc.column('host').doUpdateSet({
        url: values.url,
        insecure: values.insecure,
        secrets: values.secrets,
        attest: values.attest,
      }),
    )
    .execute();
  return (await findRegistry(db, host))!.record;
}

export async function findRegistry(
  db: Db,
  host: string,
): Promise<{ record: RegistryRecord; sealed: string | null } | undefined> {
  const row = await db.k
    .selectFrom('registries')
    .selectAll()
    .where('host', '=', host.toLowerCase())
    .executeTakeFirst();
  return row ? { record: toRecord(row, row.secrets ? undefined : {}), sealed: row.secrets } : undefined;
}

/** Secrets of a registry, opened (for the worker's pulls and the webhook receivers only). */
export async function registrySecrets(
  db: Db,
  box: SecretBox,
  host: string,
): Promise<RegistrySecrets | undefined> {
  const r = await findRegistry(db, host);
  if (!r) return undefined;
  return r.sealed ? box.open<RegistrySecrets>(r.sealed) : {};
}

export async function listRegistries(db: Db, box: SecretBox): Promise<RegistryRecord[]> {
  const rows = await db.k.selectFrom('registries').selectAll().orderBy('host').execute();
  return rows.map((r) => toRecord(r, r.secrets ? box.open<RegistrySecrets>(r.secrets) : {}));
}

export async function deleteRegistry(db: Db, host: string): Promise<boolean> {
  const r = await db.k.deleteFrom('registries').where('host', '=', host.toLowerCase()).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

function toRecord(
  r: {
    id: number;
    host: string;
    url: string;
    insecure: number;
    attest: number;
    created_at: string;
    secrets: string | null;
  },
  s: RegistrySecrets | undefined,
): RegistryRecord {
  return {
    id: r.id,
    host: r.host,
    url: r.url,
    insecure: !!r.insecure,
    hasCredentials: s ? !!(s.username || s.password) : !!r.secrets,
    hasWebhookSecret: s ? !!s.webhookSecret : !!r.secrets,
    attest: !!r.attest,
    hasPushCredentials: s ? !!(s.pushUsername || s.pushPassword) : !!r.secrets,
    createdAt: r.created_at,
  };
}

/** How the server reaches a configured registry: its TLS setting and stored credentials, nothing else. */
export async function registryOptions(
  db: Db,
  box: SecretBox,
  host: string,
): Promise<RegistryOptions | undefined> {
  const reg = await findRegistry(db, host);
  if (!reg) return undefined;
  const secrets = (await registrySecrets(db, box, host)) ?? {};
  return {
    insecure: reg.record.insecure,
    retries: 2,
    credentials:
      secrets.username || secrets.password
        ? { username: secrets.username, password: secrets.password, source: 'the server registry settings' }
        : undefined,
    // Never the server user's own docker config.json: only what the admin configured.
    dockerConfig: '/nonexistent',
  };
}

/**
 * How the server pushes attestations to a registry: undefined unless the registry opted in. The
 * push account when one is configured, else the pull account (a registry where one account does
 * both).
 */
export async function attestationPushOptions(
  db: Db,
  box: SecretBox,
  host: string,
): Promise<RegistryOptions | undefined> {
  const reg = await findRegistry(db, host);
  if (!reg?.record.attest) return undefined;
  const s = (await registrySecrets(db, box, host)) ?? {};
  const username = s.pushUsername || s.pushPassword ? s.pushUsername : s.username;
  const password = s.pushUsername || s.pushPassword ? s.pushPassword : s.password;
  return {
    insecure: reg.record.insecure,
    retries: 2,
    credentials:
      username || password ? { username, password, source: 'the server registry settings' } : undefined,
    dockerConfig: '/nonexistent',
  };
}

/** Registries that opted in to attestations (hosts). */
export async function attestingRegistries(db: Db): Promise<string[]> {
  const rows = await db.k.selectFrom('registries').select('host').where('attest', '=', 1).execute();
  return rows.map((r) => r.host);
}

/** Whether any configured registry has the server push attestations (one indexed row at most). */
export async function anyRegistryAttests(db: Db): Promise<boolean> {
  return !!(await db.k
    .selectFrom('registries')
    .select('id')
    .where('attest', '=', 1)
    .limit(1)
    .executeTakeFirst());
}
