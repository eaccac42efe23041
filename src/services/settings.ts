import {
  createToken,
  createUser,
  expiryFrom,
  listTokens,
  listUsers,
  revokeToken,
  updateUser,
} from '../store/auth.js';
import {
  deleteRegistry,
  findRegistry,
  registryHost,
  upsertRegistry,
  type RegistryRecord,
} from '../store/registries.js';
import type { SecretBox } from '../store/secret-box.js';
import { deleteWatch, listWatches, upsertWatch, type WatchRecord } from '../store/watches.js';
import { withAudit, type AuditContext } from './audit.js';
import { asInvalid } from './errors.js';

/**
 * A store refusal (a bad role, URL or scope: a CustomsError) is an `invalid` request.
 *
 * The server's settings that decide where credentials go and who may do what (registries, tokens,
 * users, watches): each change is audited with what it was before and after (never a secret).
 */

/** What the audit log keeps of a registry: where, how, and whether secrets are set (never them). */
const registryAudit = (r: RegistryRecord | undefined) =>
  r
    ? {
        url: r.url,
        insecure: r.insecure,
        credentials: r.hasCredentials ? 'set' : 'none',
        webhookSecret: r.hasWebhookSecret ? 'set' : 'none',
        attest: r.attest,
        pushCredentials: r.hasPushCredentials ? 'set' : 'none',
      }
    : null;

const watchAudit = (w: WatchRecord | undefined) =>
  w ? { registry: w.registry, repository: w.repository, intervalSeconds: w.intervalSeconds } : null;

/** Add or change a registry; a registry decides where credentials are sent, so who changed it is kept. */
export function putRegistry(
  ctx: AuditContext,
  box: SecretBox,
  input: Parameters<typeof upsertRegistry>[2],
): Promise<RegistryRecord> {
  return asInvalid(() =>
    withAudit(ctx, 'registry.put', async (trx) => {
      const before = (await findRegistry(trx, registryHost(input.url)))?.record;
      const after = await upsertRegistry(trx, box, input);
      return {
        value: after,
        subject: `registry:${after.host}`,
        details: { before: registryAudit(before), after: registryAudit(after) },
      };
    }),
  );
}

/** False: no such registry. */
export function removeRegistry(ctx: AuditContext, host: string): Promise<boolean> {
  return withAudit(ctx, 'registry.delete', async (trx) => {
    const before = (await findRegistry(trx, host))?.record;
    if (!before || !(await deleteRegistry(trx, host))) return { value: false, audit: false };
    return { value: true, subject: `registry:${before.host}`, details: { before: registryAudit(before) } };
  });
}

/**
 * A new API token for the person `by` (the issuer: approvals and the audit log name them when the
 * token acts). Without a name it is called after its issuer.
 */
export function issueToken(
  ctx: AuditContext,
  input: { name?: string; role: string; scopes?: string[]; expires?: string; environments?: string[] },
  by: string | null,
): Promise<{ id: number; token: string; name: string }> {
  const name = input.name ?? by ?? 'token';
  return asInvalid(() =>
    withAudit(ctx, 'token.create', async (trx) => {
      const t = await createToken(trx, {
        name,
        role: input.role,
        scopes: input.scopes,
        expiresAt: expiryFrom(input.expires),
        environments: input.environments,
        createdBy: by,
      });
      return {
        value: { ...t, name },
        subject: `token:${t.id}`,
        details: {
          name,
          createdBy: by,
          role: input.role,
          scopes: input.scopes ?? null,
          environments: input.environments ?? null,
          expires: input.expires ?? null,
        },
      };
    }),
  );
}

/** False: no live token of that id. */
export function revokeTokenAudited(ctx: AuditContext, id: number): Promise<boolean> {
  return withAudit(ctx, 'token.revoke', async (trx) => {
    const before = (await listTokens(trx)).find((t) => t.id === id);
    if (!(await revokeToken(trx, id))) return { value: false, audit: false };
    return {
      value: true,
      subject: `token:${id}`,
      details: { before: before ? { name: before.name, role: before.role } : null },
    };
  });
}

export function addUser(
  ctx: AuditContext,
  input: { name: string; role: string; password: string; environments?: string[] },
): Promise<number> {
  return asInvalid(() =>
    withAudit(ctx, 'user.create', async (trx) => ({
      value: await createUser(trx, input),
      subject: `user:${input.name}`,
      details: { role: input.role, environments: input.environments ?? null },
    })),
  );
}

/** Undefined: no such user. */
export function changeUser(
  ctx: AuditContext,
  id: number,
  input: { role?: string; environments?: string[] | null },
) {
  return asInvalid(() =>
    withAudit(ctx, 'user.role', async (trx) => {
      const before = (await listUsers(trx)).find((x) => x.id === id);
      const u = await updateUser(trx, id, input);
      if (!u) return { value: u, audit: false };
      return {
        value: u,
        subject: `user:${u.name}`,
        details: {
          before: { role: before?.role, environments: before?.environments },
          after: { role: u.role, environments: u.environments },
        },
      };
    }),
  );
}

export function putWatch(
  ctx: AuditContext,
  input: { registry: string; repository: string; intervalSeconds: number },
): Promise<WatchRecord> {
  return withAudit(ctx, 'watch.put', async (trx) => {
    const before = (await listWatches(trx)).find(
      (x) => x.registry === input.registry && x.repository === input.repository,
    );
    const after = await upsertWatch(trx, input);
    return {
      value: after,
      subject: `watch:${after.id}`,
      details: { before: watchAudit(before), after: watchAudit(after) },
    };
  });
}

/** False: no such watch. */
export function removeWatch(ctx: AuditContext, id: number): Promise<boolean> {
  return withAudit(ctx, 'watch.delete', async (trx) => {
    const before = (await listWatches(trx)).find((x) => x.id === id);
    if (!before || !(await deleteWatch(trx, id))) return { value: false, audit: false };
    return { value: true, subject: `watch:${before.id}`, details: { before: watchAudit(before) } };
  });
}
