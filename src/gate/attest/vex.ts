import { createHash, type KeyObject } from 'node:crypto';
import { CustomsError } from '../../errors.js';
import type { ProvenanceKind } from '../../model/provenance.js';
import { vexStatements, type VexInput } from '../../policy/vex.js';
import type { Db } from '../../store/db.js';
import { allActiveExceptions } from '../../store/exceptions.js';
import { findingEvents } from '../../store/finding-events.js';
import { placesOf } from '../../store/images.js';
import { VERSION } from '../../version.js';
import type { TrustedKey } from '../cosign.js';
import { latestResult } from '../evaluate.js';
import { INTOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope, verifyEnvelope, type Envelope } from './dsse.js';
import { statementOf } from './oci.js';
import { OPENVEX_PREDICATE, statement } from './statement.js';

/**
 * VEX about one image, from the server's own records: the gate's vulnerability exceptions in force
 * (not_affected, with the reason and expiry), what the scan found unreachable (Go symbol tables:
 * not_affected, vulnerable code not in the execute path) and findings a later database withdrew
 * (fixed). Signed, it is an in-toto statement about the image digest (cosign's `openvex` type), so
 * a copy cannot be replayed against another image.
 */

export const OPENVEX_CONTEXT = 'https://openvex.dev/ns/v0.2.0';
/** A VEX document read by `--vex` (file or URL) larger than this is refused before parsing. */
export const MAX_VEX_BYTES = 16 * 1024 * 1024;
/** Fixed findings looked back on (finding events, newest first). */
const FIXED_EVENTS = 2000;

interface OpenVexStatement {
  vulnerability: { name: string };
  timestamp: string;
  products: Array<{ '@id': string; subcomponents?: Array<{ '@id': string }> }>;
  status: 'not_affected' | 'fixed';
  justification?: string;
  impact_statement?: string;
  status_notes?: string;
}

export interface OpenVexDocument {
  '@context': string;
  '@id': string;
  author: string;
  timestamp: string;
  version: number;
  tooling: string;
  statements: OpenVexStatement[];
}

/** purl of an image: `pkg:oci/<name>@<digest>?repository_url=<registry/repository>`. */
export function imagePurl(digest: string, place?: string): string {
  const name = place?.split('/').pop() ?? 'image';
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(digest)}${
    place ? `?repository_url=${encodeURIComponent(place)}` : ''
  }`;
}

/**
 * The image's statements, and who read the result they rest on (only a server scan may be signed);
 * undefined when the server has no result for the digest. `environment`: exceptions in force there
 * (without it, only those covering every environment: a signed document carries no environment).
 * `repository` (`registry/repository`): the one place the document is pushed to; exceptions scoped to
 * another repository holding the same digest are left out (not about the image there, and their
 * reasons and authors are not for that repository's readers).
 */
export async function imageVex(
  db: Db,
  digest: string,
  o: { environment?: string; repository?: string; author: string; at?: Date },
): Promise<{ document: OpenVexDocument; provenance: ProvenanceKind } | undefined> {
  const at = o.at ?? new Date();
  const latest = await latestResult(db, digest);
  if (!latest) return undefined;
  const places = (await placesOf(db, digest)).map((p) => `${p.registry}/${p.repository}`);
  const image = imagePurl(digest, places.length === 1 ? places[0] : undefined);
  const sub = (purl: string | undefined) => (purl ? { subcomponents: [{ '@id': purl }] } : {});
  const statements: OpenVexStatement[] = [];

  for (const e of await allActiveExceptions(db, at)) {
    if (!e.vulnerability || (e.digest && e.digest !== digest)) continue;
    if (e.repository && !places.includes(e.repository)) continue;
    if (e.repository && o.repository && e.repository !== o.repository) continue;
    if (o.environment ? e.environments && !e.environments.includes(o.environment) : e.environments) continue;
    statements.push({
      vulnerability: { name: e.vulnerability },
      timestamp: e.approvedAt ?? e.createdAt,
      // A repository-scoped exception speaks for the image in that repository only.
      products: [{ '@id': e.repository ? imagePurl(digest, e.repository) : image, ...sub(e.package) }],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impact_statement: `${e.reason} (exception ${e.id} by ${e.approvedBy ?? e.createdBy}, expires ${e.expiresAt})`,
    });
  }
  // What the scan decided counts only when the server read the image itself: a CI report carries
  // its own reachability verdicts and package list, which must not come back signed by the server.
  const ownScan = latest.provenance.kind === 'server-scan';
  for (const f of ownScan ? (latest.result.suppressed ?? []) : []) {
    if (f.suppression.by !== 'reachability') continue;
    statements.push({
      vulnerability: { name: f.id },
      timestamp: latest.scannedAt,
      products: [{ '@id': image, ...sub(f.package.purl) }],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impact_statement: f.suppression.reason,
    });
  }
  const found = new Set(latest.result.findings.map((f) => `${f.id} ${f.package.name}@${f.package.version}`));
  const purlOf = new Map(latest.result.packages.map((p) => [`${p.name}@${p.version}`, p.purl]));
  const fixed = new Set<string>();
  for (const ev of ownScan ? await findingEvents(db, digest, FIXED_EVENTS) : []) {
    const k = `${ev.vulnerability} ${ev.package}`;
    // Newest first: a finding that came back after it was withdrawn is not fixed.
    if (fixed.has(k) || found.has(k)) {
      fixed.add(k);
      continue;
    }
    fixed.add(k);
    if (ev.kind !== 'fixed') continue;
    statements.push({
      vulnerability: { name: ev.vulnerability },
      timestamp: ev.at,
      products: [{ '@id': image, ...sub(purlOf.get(ev.package)) }],
      status: 'fixed',
      status_notes: `no longer reported for ${ev.package} since database ${ev.dbVersion}`,
    });
  }
  const hash = createHash('sha256').update(JSON.stringify(statements)).digest('hex').slice(0, 16);
  const document: OpenVexDocument = {
    '@context': OPENVEX_CONTEXT,
    '@id': `https://customs.invalid/vex/${digest.replace(':', '-')}/${hash}`,
    author: o.author,
    timestamp: at.toISOString(),
    version: 1,
    tooling: `customs/${VERSION}`,
    statements,
  };
  return { document, provenance: latest.provenance.kind };
}

/** The document as an in-toto statement about the digest, in a DSSE envelope signed with `key`. */
export function signVex(
  doc: OpenVexDocument,
  digest: string,
  name: string,
  key: KeyObject,
  keyId: string,
): Envelope {
  const st = statement(name, digest, OPENVEX_PREDICATE, doc);
  return signEnvelope(Buffer.from(JSON.stringify(st)), key, keyId);
}

const isEnvelope = (v: unknown): boolean =>
  !!v && typeof v === 'object' && 'payloadType' in v && 'signatures' in v;

/**
 * A `--vex` document as read (file or URL). With `keys` it must be a DSSE envelope one of them
 * signed, holding an in-toto statement of the OpenVEX type; its subjects are the digests it may
 * speak for (checked against the image once scanned). Without keys a plain document is read as it
 * always was, and an envelope is refused: its signature would go unchecked.
 */
export function openVex(bytes: Buffer, source: string, keys?: TrustedKey[]): VexInput {
  if (bytes.length > MAX_VEX_BYTES)
    throw new CustomsError(
      `${bytes.length} bytes; a VEX document may be at most ${MAX_VEX_BYTES} bytes`,
      source,
    );
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CustomsError(`not valid JSON (${(err as Error).message})`, source);
  }
  if (!keys?.length) {
    if (isEnvelope(v))
      throw new CustomsError(
        'a signed VEX (DSSE envelope): give --vex-key with the signer’s public key to check it',
        source,
      );
    return { source, statements: vexStatements(v as Record<string, unknown>, source) };
  }
  if (!isEnvelope(v))
    throw new CustomsError(
      'not signed: with --vex-key, a VEX document must be a DSSE envelope signed by that key (GET /api/v1/images/{digest}/vex?signed=1)',
      source,
    );
  let e: Envelope;
  try {
    e = parseEnvelope(bytes);
  } catch (err) {
    throw new CustomsError((err as Error).message, source);
  }
  if (e.payloadType !== INTOTO_PAYLOAD_TYPE)
    throw new CustomsError(`the envelope's payload type ${e.payloadType} is not in-toto`, source);
  const sig = verifyEnvelope(e, keys);
  if (!sig.keyId)
    throw new CustomsError(`the VEX signature does not verify with --vex-key: ${sig.problem}`, source);
  const st = statementOf(e);
  if (!st) throw new CustomsError('the signed payload is not an in-toto statement', source);
  if (st.predicateType !== OPENVEX_PREDICATE && !st.predicateType.startsWith(`${OPENVEX_PREDICATE}/`))
    throw new CustomsError(`the signed statement is a ${st.predicateType}, not OpenVEX`, source);
  const subjects = st.subject
    .slice(0, 64)
    .map((s) => (s && typeof s === 'object' ? s.digest?.sha256 : undefined))
    .filter((h): h is string => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))
    .map((h) => `sha256:${h}`);
  if (!subjects.length) throw new CustomsError('the signed VEX names no image digest', source);
  return {
    source: `${source} (signed by ${sig.keyId})`,
    statements: vexStatements(st.predicate as Record<string, unknown>, source),
    subjects,
  };
}
