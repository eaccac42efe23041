import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import { trustedKey, verifyImageSignatures, type TrustedKey } from '../gate/cosign.js';
import { verifyAttestation, type AttestationKind } from '../gate/attest/verify.js';
import { keylessVerifier, type KeylessVerifier } from '../gate/sigstore.js';
import { RegistryClient } from '../image/registry/client.js';
import { parseReference } from '../image/registry/reference.js';
import { addRemoteOptions, remoteOptions, type RemoteFlags } from './remote-options.js';
import { callServer, serverEndpoint } from './report-to.js';

interface ServerFlags {
  env: string;
  reason: string;
  server?: string;
  token?: string;
}

/** approve / reject / revoke / request: one call to the server's approvals API. */
function decisionCommand(
  program: Command,
  decision: 'approve' | 'reject' | 'revoke' | 'request',
  about: string,
) {
  program
    .command(decision === 'request' ? 'request-approval' : decision)
    .description(about)
    .argument('<image>', 'registry/repository@sha256:… (a tag is resolved by the server)')
    .requiredOption(
      '--env <environment>',
      'the environment (production, staging, dev or one the server knows)',
    )
    .requiredOption('--reason <text>', 'why: kept in the audit log')
    .option('--server <url>', 'the Customs server (default: $CUSTOMS_SERVER)')
    .option('--token <token>', 'API token (default: $CUSTOMS_TOKEN)')
    .action(async (image: string, o: ServerFlags) => {
      const t = serverEndpoint(o.server, o.token, '/api/v1/approvals', '--server');
      if (!t) throw new CustomsError('--server (or CUSTOMS_SERVER) names the Customs server');
      const r = await callServer<{
        digest: string;
        state: string;
        decidedBy?: string;
        requestedBy?: string;
        decidedByName?: string;
        requestedByName?: string;
      }>(
        t,
        { image, environment: o.env, decision, reason: o.reason },
        200,
        decision === 'request' ? 'approval request' : decision,
      );
      // The person, as the server names them ("alice (token cli)"); older servers send the token only.
      const by =
        decision === 'request' ? (r.requestedByName ?? r.requestedBy) : (r.decidedByName ?? r.decidedBy);
      process.stdout.write(`${r.digest} ${r.state} for ${o.env} by ${by}\n`);
    });
}

export function registerGate(program: Command): void {
  decisionCommand(program, 'approve', 'approve an image for an environment (approvers for that environment)');
  decisionCommand(program, 'reject', 'reject an image for an environment, with the reason');
  decisionCommand(program, 'revoke', 'withdraw an approval');
  decisionCommand(program, 'request', 'ask for an approval (where four eyes are required)');

  addRemoteOptions(
    program
      .command('verify')
      .description(
        'check cosign signatures and Sigstore bundles of an image in its registry; exit 0 when a trusted key or identity signed it, 1 with the reason when not',
      )
      .argument('<image>', 'registry/repository@sha256:… or :tag')
      .option('--key <file>', 'a trusted public key (PEM, ECDSA P-256 or Ed25519); repeatable', collect, [])
      .option(
        '--certificate-identity <id>',
        'keyless: the signer identity allowed (`*` patterns), e.g. a workflow URL',
      )
      .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer of that identity')
      .option(
        '--trusted-root <file>',
        "keyless: Sigstore's trusted_root.json (the public-good one, or your own)",
      )
      .option('--format <format>', 'table or json', 'table')
      .option(
        '--attestation <kind>',
        'check a signed attestation instead of the signature: vuln (the scan) or verdict (the gate decision, with --env)',
      )
      .option('--env <environment>', 'with --attestation verdict: the environment the verdict must allow')
      .option(
        '--max-db-age <days>',
        'with --attestation vuln: the scan and its database at most this old',
        '7',
      ),
  ).action(async (image: string, o: VerifyFlags) => {
    const keys = o.key.map((f) => trustedKey(readText(f, 'the key'), f));
    if (o.attestation !== undefined) return verifyAttestationCommand(image, o, keys);
    const keyless = keylessFlags(o);
    if (!keys.length && !keyless)
      throw new CustomsError(
        'give --key, or --certificate-identity, --certificate-oidc-issuer and --trusted-root',
      );
    const ref = parseReference(image);
    const { registry } = await remoteOptions(o);
    const client = new RegistryClient(ref.domain, registry);
    try {
      const digest = ref.digest ?? (await client.manifest(ref.repository, ref.tag ?? 'latest')).digest;
      const check = await verifyImageSignatures(client, ref.repository, digest, { keys, keyless });
      if (o.format === 'json')
        process.stdout.write(
          `${JSON.stringify({ image: `${ref.domain}/${ref.repository}@${digest}`, ...check }, null, 2)}\n`,
        );
      else {
        process.stdout.write(
          `${ref.domain}/${ref.repository}@${digest}: ${check.trusted ? 'trusted' : 'NOT trusted'} — ${check.reason}\n`,
        );
        for (const s of check.signatures)
          process.stdout.write(
            `  ${s.verified ? '✓' : '✗'} ${s.source}${s.keyId ? ` key ${s.keyId}` : ''}${s.problem ? `: ${s.problem}` : ''}\n`,
          );
      }
      process.exitCode = check.trusted ? 0 : 1;
    } finally {
      await client.close();
    }
  });
}

const collect = (v: string, prev: string[]) => [...prev, v];

interface VerifyFlags extends RemoteFlags {
  key: string[];
  attestation?: string;
  env?: string;
  maxDbAge: string;
  format: string;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  trustedRoot?: string;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CustomsError(
      `cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      file,
    );
  }
}

/** The keyless flags go together: an identity is meaningless without its issuer and a root to check against. */
function keylessFlags(o: VerifyFlags): KeylessVerifier | undefined {
  const given = [o.certificateIdentity, o.certificateOidcIssuer, o.trustedRoot].filter(Boolean).length;
  if (!given) return undefined;
  if (given < 3)
    throw new CustomsError(
      'keyless verification needs --certificate-identity, --certificate-oidc-issuer and --trusted-root',
    );
  return keylessVerifier(
    readText(o.trustedRoot!, 'the trusted root'),
    [{ subject: o.certificateIdentity!, issuer: o.certificateOidcIssuer! }],
    o.trustedRoot,
  );
}

/** `verify --attestation`: exit 0 only for a fresh, signed attestation that lets the image pass. */
async function verifyAttestationCommand(image: string, o: VerifyFlags, keys: TrustedKey[]): Promise<void> {
  const kind = o.attestation as AttestationKind;
  if (kind !== 'vuln' && kind !== 'verdict')
    throw new CustomsError(`--attestation must be vuln or verdict, not ${o.attestation}`);
  if (!keys.length)
    throw new CustomsError('--attestation needs --key (the public key that signs attestations)');
  if (keylessFlags(o))
    throw new CustomsError('--attestation checks key-signed attestations; keyless is not supported here');
  if (kind === 'verdict' && !o.env)
    throw new CustomsError('--attestation verdict needs --env (the environment)');
  const days = Number(o.maxDbAge);
  if (!Number.isFinite(days) || days < 0) throw new CustomsError('--max-db-age must be a number of days');
  const ref = parseReference(image);
  const { registry } = await remoteOptions(o);
  const client = new RegistryClient(ref.domain, registry);
  try {
    const digest = ref.digest ?? (await client.manifest(ref.repository, ref.tag ?? 'latest')).digest;
    const check = await verifyAttestation(client, ref.repository, digest, {
      keys,
      kind,
      environment: o.env,
      maxDbAgeMs: days * 86_400_000,
    });
    const name = `${ref.domain}/${ref.repository}@${digest}`;
    if (o.format === 'json') process.stdout.write(`${JSON.stringify({ image: name, ...check }, null, 2)}\n`);
    else {
      process.stdout.write(
        `${name}: ${kind} attestation ${check.ok ? 'accepted' : 'REFUSED'} — ${check.reason}\n`,
      );
      for (const c of check.checked.filter((x) => x.problem))
        process.stdout.write(
          `  ✗ ${c.layer || 'attestations'}${c.predicateType ? ` (${c.predicateType})` : ''}: ${c.problem}\n`,
        );
    }
    process.exitCode = check.ok ? 0 : 1;
  } finally {
    await client.close();
  }
}
