import { CustomsError } from '../errors.js';
import type { Finding, ScanResult } from '../model/scan.js';
import { purlBase, type Suppression } from './ignore.js';
import { readUserFile } from '../user-file.js';

/** One VEX statement, from OpenVEX or CycloneDX VEX, in a common shape. */
export interface VexStatement {
  vulnerability: string[];
  /** Product / subcomponent identifiers: purls, image references, bom-refs. */
  products: string[];
  status: 'not_affected' | 'affected' | 'fixed' | 'under_investigation';
  justification?: string;
  detail?: string;
  source: string;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

function parseJson(path: string): { doc: Record<string, unknown>; text: string } {
  const text = readUserFile(path);
  try {
    return { doc: JSON.parse(text) as Record<string, unknown>, text };
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg)?.[1];
    // "Unexpected end of JSON input" has no position: the document stops at its last line.
    const line = pos ? lineOf(text, Number(pos)) : text.trimEnd().split('\n').length;
    throw new CustomsError(`line ${line}: not valid JSON (${msg})`, path);
  }
}

// A document from elsewhere (a URL, a supplier) may put anything anywhere: read loosely, never crash.
const record = (x: unknown): Record<string, unknown> =>
  x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
const array = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const text = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

const OPENVEX_STATUS = new Set(['not_affected', 'affected', 'fixed', 'under_investigation']);
const CDX_STATE: Record<string, VexStatement['status']> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
};

/**
 * A VEX document read before the scan (a URL, a signed envelope already verified): its statements,
 * and for a signed one the image digests its signer made them about.
 */
export interface VexInput {
  source: string;
  statements: VexStatement[];
  subjects?: string[];
}

/** Statements read from one VEX document: a document with more is refused, not cut (which ones would count?). */
export const MAX_VEX_STATEMENTS = 20_000;

/** Read an OpenVEX document or a CycloneDX document with vulnerabilities[].analysis. */
export function loadVex(path: string): VexStatement[] {
  return vexStatements(parseJson(path).doc, path);
}

/** The statements of a parsed OpenVEX or CycloneDX VEX document; `path` names it in errors. */
export function vexStatements(doc: Record<string, unknown>, path: string): VexStatement[] {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new CustomsError('a VEX document is a JSON object', path);
  if ('payloadType' in doc && 'signatures' in doc)
    throw new CustomsError(
      'a signed VEX (DSSE envelope): give --vex-key with the signer’s public key to check it',
      path,
    );
  const list = Array.isArray(doc.statements)
    ? doc.statements
    : Array.isArray(doc.vulnerabilities)
      ? doc.vulnerabilities
      : [];
  if (list.length > MAX_VEX_STATEMENTS)
    throw new CustomsError(
      `${list.length} statements; a VEX document may hold at most ${MAX_VEX_STATEMENTS}`,
      path,
    );
  if (typeof doc['@context'] === 'string' && String(doc['@context']).includes('openvex')) {
    return list.map((item: unknown, i: number) => {
      const s = record(item);
      const v = s.vulnerability;
      const vulnerability =
        typeof v === 'string'
          ? [v]
          : [record(v).name, ...array(record(v).aliases)].filter((x): x is string => typeof x === 'string');
      const products = array(s.products).flatMap((p) =>
        typeof p === 'string'
          ? [p]
          : [record(p)['@id'], ...array(record(p).subcomponents).map((c) => record(c)['@id'])].filter(
              (x): x is string => typeof x === 'string',
            ),
      );
      if (!vulnerability.length || !OPENVEX_STATUS.has(String(s.status))) {
        throw new CustomsError(
          `statement ${i + 1}: needs a vulnerability and a status (not_affected, affected, fixed, under_investigation)`,
          path,
        );
      }
      return {
        vulnerability,
        products,
        status: s.status as VexStatement['status'],
        justification: text(s.justification),
        detail: text(s.impact_statement ?? s.status_notes ?? s.action_statement),
        source: `${path}#statement-${i + 1}`,
      };
    });
  }
  if (doc.bomFormat === 'CycloneDX' && Array.isArray(doc.vulnerabilities)) {
    return list.flatMap((item: unknown, i: number) => {
      const v = record(item);
      const analysis = record(v.analysis);
      const status = typeof analysis.state === 'string' ? CDX_STATE[analysis.state] : undefined;
      if (!status) return [];
      const ids = [v.id, ...array(v.references).map((r) => record(r).id)].filter(
        (x): x is string => typeof x === 'string',
      );
      const products = array(v.affects)
        .map((a) => record(a).ref)
        .filter((x): x is string => typeof x === 'string');
      return [
        {
          vulnerability: ids,
          products,
          status,
          justification: text(analysis.justification),
          detail: text(analysis.detail),
          source: `${path}#vulnerabilities-${i + 1}`,
        },
      ];
    });
  }
  throw new CustomsError('neither an OpenVEX document nor a CycloneDX document with vulnerabilities', path);
}

/** Does a VEX product identifier name this image or this package? */
function productMatches(product: string, f: Finding, image: ScanResult['image']): boolean {
  if (product.startsWith('pkg:oci/') || product.startsWith('pkg:docker/')) {
    const digest = image.manifestDigest ?? image.configDigest;
    let name: string;
    try {
      name = decodeURIComponent(product);
    } catch {
      name = product; // a stray % is not an encoding
    }
    return (
      (!!digest && name.includes(digest)) ||
      image.repoTags.some((t) => name.includes(t.split(':')[0].split('/').pop()!))
    );
  }
  if (product.startsWith('pkg:')) {
    const exact = product.replace(/[?#].*$/, '');
    return exact.includes('@')
      ? exact === f.package.purl.replace(/[?#].*$/, '')
      : purlBase(f.package.purl) === exact;
  }
  return product === image.name || image.repoTags.includes(product) || product === image.manifestDigest;
}

export function applyVex(
  findings: Finding[],
  statements: VexStatement[],
  image: ScanResult['image'],
): { kept: Finding[]; suppressed: Array<Finding & { suppression: Suppression }> } {
  const kept: Finding[] = [];
  const suppressed: Array<Finding & { suppression: Suppression }> = [];
  for (const f of findings) {
    const ids = new Set([f.id, ...f.aliases]);
    const s = statements.find(
      (st) =>
        st.vulnerability.some((v) => ids.has(v)) &&
        (st.products.length === 0 || st.products.some((p) => productMatches(p, f, image))),
    );
    if (s && (s.status === 'not_affected' || s.status === 'fixed')) {
      suppressed.push({
        ...f,
        suppression: {
          by: 'vex',
          reason: s.detail ?? s.justification ?? s.status,
          source: s.source,
          status: s.status,
          justification: s.justification,
        },
      });
    } else if (s) {
      kept.push({ ...f, vex: { status: s.status, detail: s.detail, source: s.source } });
    } else kept.push(f);
  }
  return { kept, suppressed };
}
