import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { CustomsError } from '../errors.js';

interface StoreFlags {
  data?: string;
  database?: string;
}

const storeOptions = (c: Command) =>
  c
    .option('--data <dir>', 'data folder (default: $CUSTOMS_DATA or $XDG_DATA_HOME/customs)')
    .option('--database <url>', 'postgres://… to use PostgreSQL instead of SQLite in the data folder');

async function readSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * The store, for commands that write audit entries: they sign them with the server key, which the
 * secret key (CUSTOMS_SECRET_KEY or the data folder's secret.key, as the server's) opens.
 */
async function openSignedStore(o: StoreFlags) {
  const { join } = await import('node:path');
  const { defaultDataDir, openDb } = await import('../store/db.js');
  const { SecretBox } = await import('../store/secret-box.js');
  const { loadSigner } = await import('../gate/server-key.js');
  const db = await openDb(o);
  try {
    const box = SecretBox.fromEnvOrFile(join(defaultDataDir(o.data), 'secret.key'));
    db.signer = await loadSigner(db, box);
    await (await import('../gate/audit.js')).ensureSignedHead(db);
    return { db, box };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** `customs server`, its store commands, and `customs worker`. Loaded lazily: the scanner needs none of it. */
export function registerServer(program: Command): void {
  const server = storeOptions(
    program
      .command('server')
      .description(
        'run the scanning service: API, webhooks, scan workers (SQLite by default, PostgreSQL with --database)',
      ),
  )
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8420)')
    .option('--workers <n>', 'scan workers in this process (0: API only)')
    .option('--db <path>', 'vulnerability database (default: $CUSTOMS_DB or the user cache folder)')
    .option('--deadline <seconds>', 'a scan running longer is stopped (default 600)')
    .option(
      '--job-expire <seconds>',
      'PostgreSQL: a job whose worker stopped renewing its lease runs elsewhere after this long (default 30)',
    )
    .option(
      '--db-repository <refs>',
      'where the vulnerability database is pulled from (comma-separated mirrors; default as db update)',
    )
    .option(
      '--db-update-interval <seconds>',
      'seconds between database updates; 0: only on request (default 3600)',
    )
    .option('--db-trust-key <files>', 'more trusted public keys for the database, comma-separated')
    .option('--db-insecure', 'the database repository may be plain HTTP')
    .option('--smtp-url <url>', 'smtp://user:password@host:port for email alerts')
    .option('--smtp-from <address>', 'the sender of email alerts')
    .option(
      '--policy <file>',
      'the policy environments are judged by (default: ./customs-policy.yaml, else built in)',
    )
    .option(
      '--admission-anonymous',
      'answer admission requests without a token (decisions only, nothing recorded)',
    )
    .option('--gate-interval <seconds>', 'how often exceptions about to expire are looked for (default 300)')
    .option(
      '--tls-cert <file>',
      'serve HTTPS with this PEM certificate (chain); the admission webhook needs it',
    )
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--oidc-issuer <url>', 'single sign-on: the OpenID Connect provider')
    .option(
      '--oidc-client-id <id>',
      'this server as a client of the provider (secret: $CUSTOMS_OIDC_CLIENT_SECRET)',
    )
    .option(
      '--oidc-redirect-uri <url>',
      'the callback the provider knows (default: this server /api/v1/auth/oidc/callback)',
    )
    .option(
      '--oidc-roles <map>',
      'groups to roles, e.g. "sec-leads=approver:production+staging,platform=admin"',
    )
    .option('--oidc-roles-claim <claim>', "the claim listing the user's groups (default groups)")
    .option(
      '--oidc-default-role <role>',
      'role of someone in no mapped group: viewer (default) … or none to refuse',
    )
    .option('--oidc-insecure', 'the provider may be plain HTTP (tests, an internal provider)')
    .option(
      '--kube-inventory <kubeconfig>',
      'record what runs where from a cluster: a kubeconfig (file#context) or in-cluster',
    )
    .option('--kube-interval <seconds>', 'seconds between cluster inventories (default 300)')
    .option(
      '--leader-check <seconds>',
      'replicas on PostgreSQL: how often a replica tries to take over a singleton task (default 5)',
    )
    .option(
      '--rejudge-interval <seconds>',
      'how often verdicts a change of the gate made stale are looked for and judged again (default 2)',
    )
    .option(
      '--shutdown-delay <seconds>',
      'on SIGTERM, how long readiness reads false before the listener closes (default 2)',
    )
    .option('--shutdown-grace <seconds>', 'on SIGTERM, how long requests in flight may take (default 25)')
    .option(
      '--retain-scans <n>',
      'scans kept per image after each database update, the latest always (default 0: every scan)',
    )
    .option(
      '--trust-proxy [hops|addresses]',
      'behind reverse proxies: trust X-Forwarded-For/-Proto from this many hops (bare: 1) or from these proxy addresses/CIDRs (comma-separated); the client address is the one the nearest untrusted hop saw',
    )
    .option('--public-url <url>', 'where users reach the server; https://… makes session cookies Secure')
    .option('--audit-export-channel <id>', "send the audit log's signed head to this alert channel")
    .option('--audit-export-interval <seconds>', 'how often the audit head is exported (default 3600)')
    .option(
      '--attest-valid-for <seconds>',
      'how long a verdict the server signs and pushes beside an image holds (default 86400; re-signed before it runs out)',
    )
    .option('--config <file>', 'YAML settings (keys as the long flags, camelCase)')
    .action(async (o: Record<string, string>) => {
      const { runServer, serverConfig } = await import('../server/run.js');
      await runServer(serverConfig(o));
    });

  storeOptions(
    server
      .command('token')
      .description('API tokens, straight on the store (bootstrap the first admin, automation)')
      .command('create')
      .description('issue a token and print it (once)')
      .requiredOption(
        '--role <role>',
        'viewer, developer, approver, admin, webhook (registry notifications) or admission (the Kubernetes API server)',
      )
      .option('--name <name>', 'what the token is for (default: your user name)')
      .option('--scopes <list>', 'limit to these permissions: read,report,webhook,admission,approve,admin')
      .option('--expires <duration>', 'e.g. 30d, 12h (default: never)')
      .option('--environments <list>', 'limit to these environments (approvers: where they may approve)'),
  ).action(async (_o: unknown, cmd: Command) => {
    // --data/--database may land on `server` itself (commander reads parent options anywhere).
    const o = cmd.optsWithGlobals<
      StoreFlags & { role: string; name?: string; scopes?: string; expires?: string; environments?: string }
    >();
    // The person at this terminal issues it: approvals and the audit log name them when it acts.
    const by = userInfo().username;
    const name = o.name ?? by;
    const { createToken, expiryFrom } = await import('../store/auth.js');
    const { appendAudit, inTransaction } = await import('../gate/audit.js');
    const { db } = await openSignedStore(o);
    try {
      const { token } = await inTransaction(db, async (trx) => {
        const t = await createToken(trx, {
          name,
          createdBy: by,
          role: o.role,
          scopes: splitList(o.scopes),
          expiresAt: expiryFrom(o.expires),
          environments: splitList(o.environments),
        });
        await appendAudit(trx, {
          actor: `cli:${userInfo().username}`,
          action: 'token.create',
          subject: `token:${t.id}`,
          details: {
            name,
            createdBy: by,
            role: o.role,
            scopes: splitList(o.scopes) ?? null,
            environments: splitList(o.environments) ?? null,
          },
        });
        return t;
      });
      process.stdout.write(`${token}\n`);
    } finally {
      await db.close();
    }
  });

  server
    .command('rescan')
    .description('re-match every stored inventory with the server database now (through the API)')
    .requiredOption('--all', 'every stored image (the only scope for now)')
    .option('--server <url>', 'the Customs server (default: $CUSTOMS_SERVER)')
    .option('--token <token>', 'an admin API token (default: $CUSTOMS_TOKEN)')
    .action(async (o: { server?: string; token?: string }) => {
      const { callServer, serverEndpoint } = await import('./report-to.js');
      const t = serverEndpoint(o.server, o.token, '/api/v1/rescans', '--server');
      if (!t) throw new CustomsError('--server (or CUSTOMS_SERVER) names the Customs server');
      const r = await callServer<{ queued: number }>(t, { all: true }, 202, 'rescan');
      process.stdout.write(`${r.queued} image(s) queued for re-matching\n`);
    });

  storeOptions(
    server
      .command('audit')
      .description('the audit log, straight on the store')
      .command('verify')
      .description("walk the audit log's hash chain; exit 0 when intact, 1 naming the first broken entry"),
  ).action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<StoreFlags>();
    const { verifyAudit } = await import('../gate/audit.js');
    // Signatures count only with the keys the server's secret key opens (not any key in the store).
    const { db } = await openSignedStore(o);
    try {
      const v = await verifyAudit(db);
      const sig = v.signatures;
      const signatures =
        sig.status === 'unsigned'
          ? 'not signed'
          : `${sig.signed} signed${sig.unsigned ? `, ${sig.unsigned} from before signing` : ''}, signatures ${sig.status}`;
      if (v.ok)
        process.stdout.write(`audit log intact: ${v.entries} entries (${signatures}), head ${v.head}\n`);
      else {
        process.stdout.write(
          `audit log BROKEN at entry ${v.broken!.seq}: ${v.broken!.reason} (${v.entries} entries verify before it; ${signatures})\n`,
        );
        process.exitCode = 1;
      }
    } finally {
      await db.close();
    }
  });

  storeOptions(
    server
      .command('key')
      .description(
        "the server's keys (ECDSA P-256, sealed with the secret key): the attestation key signs verdicts, scans and VEX; the signing key signs the audit log",
      )
      .command('create')
      .description(
        "make the server's keys when there are none (the server also makes them on first use) and print the attestation key's public half (what cosign, Kyverno and customs verify --key need)",
      )
      .option('--out <file>', 'also write the public half (PEM) to this file, e.g. customs-server.pub')
      .option(
        '--rotate',
        'retire the attestation key and make a new one: old signatures still verify with the retired key (GET /api/v1/signing-key lists it); running servers sign with the new one at once and re-sign what they attested',
      )
      .option(
        '--rotate-audit',
        'retire the audit log signing key and make a new one (old entries still verify); restart servers after',
      ),
  ).action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<StoreFlags & { rotate?: boolean; rotateAudit?: boolean; out?: string }>();
    const { join } = await import('node:path');
    const { writeFileSync } = await import('node:fs');
    const { defaultDataDir, openDb } = await import('../store/db.js');
    const { SecretBox } = await import('../store/secret-box.js');
    const { createSigningKey, loadSigner, loadAttestationKey } = await import('../gate/server-key.js');
    const { appendAudit, inTransaction } = await import('../gate/audit.js');
    const db = await openDb(o);
    try {
      const box = SecretBox.fromEnvOrFile(join(defaultDataDir(o.data), 'secret.key'));
      const made: Array<{ purpose: 'signing' | 'attestation'; id: string; retired?: string }> = [];
      for (const [purpose, rotate] of [
        ['signing', !!o.rotateAudit],
        ['attestation', !!o.rotate],
      ] as const) {
        const k = await inTransaction(db, (trx) => createSigningKey(trx, box, rotate, purpose));
        const what = purpose === 'signing' ? 'audit signing key' : 'attestation key';
        process.stderr.write(
          k.created
            ? `${what} ${k.id} ${k.retired ? `created (${k.retired.slice(0, 16)}… retired)` : 'created'}\n`
            : `${what} ${k.id} exists (${purpose === 'signing' ? '--rotate-audit' : '--rotate'} replaces it)\n`,
        );
        if (k.created) made.push({ purpose, id: k.id, retired: k.retired });
      }
      // Both must open with this secret key (a store of another installation is refused here).
      db.signer = await loadSigner(db, box);
      const att = await loadAttestationKey(db, box);
      for (const m of made)
        await inTransaction(db, (trx) =>
          appendAudit(trx, {
            actor: `cli:${userInfo().username}`,
            action: m.retired ? 'server-key.rotate' : 'server-key.create',
            subject: `key:${m.id}`,
            details: { purpose: m.purpose, retired: m.retired ?? null },
          }),
        );
      if (o.out) writeFileSync(o.out, att.publicPem, { mode: 0o644 });
      process.stdout.write(att.publicPem);
    } finally {
      await db.close();
    }
  });

  storeOptions(
    server
      .command('user')
      .description('users who sign in with a password')
      .command('create')
      .description('create a user; the password is read from standard input')
      .requiredOption('--name <name>', 'user name')
      .requiredOption('--role <role>', 'viewer, developer, approver or admin')
      .option('--environments <list>', 'limit to these environments (approvers: where they may approve)')
      .option('--password-stdin', 'read the password from standard input (required)'),
  ).action(async (_o: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<
      StoreFlags & { name: string; role: string; passwordStdin?: boolean; environments?: string }
    >();
    if (!o.passwordStdin) throw new CustomsError('give the password on standard input with --password-stdin');
    const password = await readSecret();
    const { createUser } = await import('../store/auth.js');
    const { appendAudit, inTransaction } = await import('../gate/audit.js');
    const { db } = await openSignedStore(o);
    try {
      const environments = splitList(o.environments);
      const id = await inTransaction(db, async (trx) => {
        const id = await createUser(trx, { name: o.name, role: o.role, password, environments });
        await appendAudit(trx, {
          actor: `cli:${userInfo().username}`,
          action: 'user.create',
          subject: `user:${o.name}`,
          details: { role: o.role, environments: environments ?? null },
        });
        return id;
      });
      process.stdout.write(`user ${o.name} (${o.role}) created, id ${id}\n`);
    } finally {
      await db.close();
    }
  });

  storeOptions(
    program.command('worker').description('run scan workers against a PostgreSQL store (scale-out)'),
  )
    .option('--concurrency <n>', 'scans at once in this process', '1')
    .option('--db <path>', 'vulnerability database (default: $CUSTOMS_DB or the user cache folder)')
    .option('--deadline <seconds>', 'a scan running longer is stopped (default 600)')
    .option(
      '--job-expire <seconds>',
      'a job whose worker stopped renewing its lease runs elsewhere after this long (default 30)',
    )
    .option('--policy <file>', 'the policy running images are judged by after a re-match (as the server)')
    .option(
      '--db-repository <refs>',
      "keep the database in step with the server's, pulled from here (as the server's flag)",
    )
    .option('--db-trust-key <files>', 'more trusted public keys for the database, comma-separated')
    .option('--db-insecure', 'the database repository may be plain HTTP')
    .option('--config <file>', 'YAML settings')
    .action(async (o: Record<string, string>) => {
      const n = Number(o.concurrency);
      if (!Number.isInteger(n) || n < 1 || n > 64)
        throw new CustomsError('--concurrency must be a whole number from 1 to 64');
      const { runWorker, serverConfig } = await import('../server/run.js');
      await runWorker(serverConfig(o), n);
    });
}

/** "a, b" → ["a", "b"]; nothing → undefined. */
function splitList(v: string | undefined): string[] | undefined {
  const l = (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return l.length ? l : undefined;
}
