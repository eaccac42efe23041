import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type TrustMaterial } from '@sigstore/verify';
import { CustomsError } from '../errors.js';
import { globMatch } from '../policy/provenance.js';

/**
 * Keyless (Sigstore) signatures: a bundle — a DSSE envelope holding an in-toto statement about the
 * image, a short-lived certificate naming who signed (an OIDC identity and its issuer) and the
 * transparency-log entry — verified offline with the sigstore-js verifier against a trusted-root
 * file (the public-good instance's, or a private deployment's). cosign 2.4+ (new bundle format) and
 * GitHub artifact attestations push such bundles as OCI referrers of the image.
 */

export const BUNDLE_ARTIFACT_TYPES = [
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
];

/** Who may sign: a certificate identity (SAN, `*` patterns) and its OIDC issuer. */
export interface Identity {
  subject: string;
  issuer: string;
}

export interface KeylessVerifier {
  material: TrustMaterial;
  /** Certificate Transparency is required when the trusted root lists CT logs. */
  ctlogs: number;
  identities: Identity[];
}

/** A trusted-root JSON document (Sigstore's `trusted_root.json` format). */
export function keylessVerifier(
  trustedRootJson: string,
  identities: Identity[],
  from = 'trusted root',
): KeylessVerifier {
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(JSON.parse(trustedRootJson));
  } catch (err) {
    throw new CustomsError(`not a Sigstore trusted root: ${(err as Error).message}`, from);
  }
  if (!root.certificateAuthorities.length || !root.tlogs.length)
    throw new CustomsError('the trusted root names no certificate authority or no transparency log', from);
  return { material: toTrustMaterial(root), ctlogs: root.ctlogs.length, identities };
}

export interface BundleVerdict {
  verified: boolean;
  /** The signer's identity when the bundle verified. */
  subject?: string;
  issuer?: string;
  problem?: string;
  predicateType?: string;
}

/**
 * Check one bundle: signature, certificate chain at the log's time, log inclusion, then that the
 * in-toto statement names this digest and that the signer is one of the allowed identities.
 */
export function verifyBundle(bundleJson: unknown, digest: string, v: KeylessVerifier): BundleVerdict {
  let signer;
  let payload: Buffer;
  try {
    const bundle = bundleFromJSON(bundleJson);
    if (bundle.content.$case !== 'dsseEnvelope')
      return { verified: false, problem: 'a message-signature bundle does not name an image' };
    payload = bundle.content.dsseEnvelope.payload;
    const entity = toSignedEntity(bundle);
    signer = new Verifier(v.material, { ctlogThreshold: v.ctlogs ? 1 : 0, tlogThreshold: 1 }).verify(entity);
  } catch (err) {
    return { verified: false, problem: `the bundle does not verify: ${(err as Error).message}` };
  }
  let statement: { subject?: Array<{ digest?: Record<string, string> }>; predicateType?: string };
  try {
    statement = JSON.parse(payload.toString('utf8')) as typeof statement;
  } catch {
    return { verified: false, problem: 'the signed payload is not an in-toto statement' };
  }
  const hex = digest.replace(/^sha256:/, '');
  if (!(statement.subject ?? []).some((s) => s.digest?.sha256 === hex))
    return { verified: false, problem: 'the signed statement is about another image' };
  const subject = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  const ok = v.identities.some(
    (i) =>
      subject !== undefined &&
      globMatch(i.subject, subject) &&
      issuer !== undefined &&
      globMatch(i.issuer, issuer),
  );
  if (!ok)
    return {
      verified: false,
      subject,
      issuer,
      problem: `signed by ${subject ?? 'an unnamed identity'} (issuer ${issuer ?? 'unknown'}), not an allowed identity`,
    };
  return { verified: true, subject, issuer, predicateType: statement.predicateType };
}
