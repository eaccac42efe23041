import { createPublicKey } from 'node:crypto';
import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import { readKeyFile } from '../user-file.js';
import { signEnvelope, signingKey } from '../gate/attest/dsse.js';
import { attachAttestations, attestationTag } from '../gate/attest/oci.js';
import { statement, VULN_PREDICATE, vulnPredicate } from '../gate/attest/statement.js';
import { keyIdOf } from '../gate/server-key.js';
import { RegistryClient } from '../image/registry/client.js';
import { parseReference } from '../image/registry/reference.js';
import type { ScanResult } from '../model/scan.js';
import { remoteOptions, type RemoteFlags } from './remote-options.js';

export interface AttestFlags extends RemoteFlags {
  attest?: boolean;
  key?: string;
  push?: string;
}

export function addAttestOptions(cmd: Command): Command {
  return cmd
    .option(
      '--attest',
      'sign the scan (in-toto vuln attestation, DSSE) and attach it beside the image in its registry',
    )
    .option('--key <file>', 'with --attest: the signing key (PEM, ECDSA P-256 or Ed25519)')
    .option(
      '--push <image>',
      'with --attest: where the image lives (registry/repository:tag or @digest); default: the scanned registry image',
    );
}

/** Checked before the scan, so a missing key does not cost a scan. */
export function checkAttestFlags(o: AttestFlags, target: string): void {
  if (!o.attest) {
    if (o.push || o.key) throw new CustomsError('--key and --push go with --attest');
    return;
  }
  if (!o.key) throw new CustomsError('--attest needs --key (the signing key, PEM)');
  signingKey(readKeyFile(o.key), o.key);
  if (!o.push && !/^[\w.-]+(:\d+)?\/.+/.test(target))
    throw new CustomsError(
      '--attest on a local image needs --push registry/repository:tag (where the image was pushed)',
    );
}

/**
 * Sign the scan and attach it to the image at --push. The attestation's subject must be the very
 * image scanned: the registry's manifest digest when the scan had one, else (an archive, which has
 * no manifest digest) the manifest whose config digest is the scanned one — the config names every
 * layer's uncompressed digest, so an equal config is an equal image.
 */
export async function attestScan(result: ScanResult, target: string, o: AttestFlags): Promise<string> {
  const key = signingKey(readKeyFile(o.key!), o.key);
  const ref = parseReference(o.push ?? target);
  const { registry } = await remoteOptions(o);
  const client = new RegistryClient(ref.domain, registry);
  try {
    const subject = await subjectDigest(client, ref.repository, ref.digest ?? ref.tag ?? 'latest', result);
    const st = statement(`${ref.domain}/${ref.repository}`, subject, VULN_PREDICATE, vulnPredicate(result));
    const pub = createPublicKey(key);
    const envelope = signEnvelope(Buffer.from(JSON.stringify(st)), key, keyIdOf(pub));
    // A new scan supersedes the previous scan attestation of the same key only (a server's and a
    // pipeline's stay side by side).
    const keyid = envelope.signatures[0].keyid;
    await attachAttestations(
      client,
      ref.repository,
      subject,
      [{ envelope, predicateType: VULN_PREDICATE }],
      (old, e) => old?.predicateType === VULN_PREDICATE && e.signatures.some((s) => s.keyid === keyid),
    );
    return `${ref.domain}/${ref.repository}:${attestationTag(subject)}`;
  } finally {
    await client.close();
  }
}

async function subjectDigest(
  client: RegistryClient,
  repository: string,
  reference: string,
  r: ScanResult,
): Promise<string> {
  const m = await client.tryManifest(repository, reference);
  if (!m) throw new CustomsError(`${repository}:${reference} is not in the registry: push the image first`);
  if (r.image.manifestDigest && m.digest === r.image.manifestDigest) return m.digest;
  const configOf = async (body: Buffer): Promise<string | undefined> =>
    (JSON.parse(body.toString('utf8')) as { config?: { digest?: string } }).config?.digest;
  const doc = JSON.parse(m.body.toString('utf8')) as { manifests?: Array<{ digest?: string }> };
  if (Array.isArray(doc.manifests)) {
    // An index: the platform manifest whose config is the scanned image's.
    for (const d of doc.manifests.slice(0, 16)) {
      if (typeof d.digest !== 'string') continue;
      if (d.digest === r.image.manifestDigest) return d.digest;
      const sub = await client.tryManifest(repository, d.digest);
      if (sub && r.image.configDigest && (await configOf(sub.body)) === r.image.configDigest)
        return sub.digest;
    }
  } else if (r.image.configDigest && (await configOf(m.body)) === r.image.configDigest) return m.digest;
  throw new CustomsError(
    `${repository}:${reference} in the registry is not the image scanned (its manifest and config digests differ): attest what was pushed`,
  );
}
