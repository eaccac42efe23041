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

const OPENVEX_STATUS = new Set(['not_affected', 'affected', 'fixed', 'under_investigation']);
const CDX_STATE: Record<string, VexStatement['status']> = {
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
};

/** Read an OpenVEX document or a CycloneDX document with vulnerabilities[].analysis. */
export function loadVex(path: string): VexStatement[] {
  const { doc } = parseJson(path);
  if (typeof doc['@context'] === 'string' && String(doc['@context']).includes('openvex')) {
    const statements = Array.isArray(doc.statements) ? doc.statements : [];
    return statements.map((s: Record<string, unknown>, i: number) => {
      const v = s.vulnerability as { name?: string; aliases?: string[] } | string | undefined;
      const vulnerability =
        typeof v === 'string'
          ? [v]
          : [v?.name, ...(v?.aliases ?? [])].filter((x): x is string => typeof x === 'string');
      const products = (
        (s.products as Array<{ '@id'?: string; subcomponents?: Array<{ '@id'?: string }> } | string>) ?? []
      ).flatMap((p) =>
        typeof p === 'string'
          ? [p]
          : [p['@id'], ...(p.subcomponents ?? []).map((c) => c['@id'])].filter(
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
        justification: s.justification as string | undefined,
        detail: (s.impact_statement ?? s.status_notes ?? s.action_statement) as string | undefined,
        source: `${path}#statement-${i + 1}`,
      };
    });
  }
  if (doc.bomFormat === 'CycloneDX' && Array.isArray(doc.vulnerabilities)) {
    return (doc.vulnerabilities as Array<Record<string, unknown>>).flatMap((v, i) => {
      const analysis = v.analysis as { state?: string; justification?: string; detail?: string } | undefined;
      const status = analysis?.state ? CDX_STATE[analysis.state] : undefined;
      if (!status) return [];
      const ids = [v.id, ...((v.references as Array<{ id?: string }>) ?? []).map((r) => r.id)].filter(
        (x): x is string => typeof x === 'string',
      );
      const products = ((v.affects as Array<{ ref?: string }>) ?? [])
        .map((a) => a.ref)
        .filter((x): x is string => typeof x === 'string');
      return [
        {
          vulnerability: ids,
          products,
          status,
          justification: analysis?.justification,
          detail: analysis?.detail,
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
    return (
      (!!digest && decodeURIComponent(product).includes(digest)) ||
      image.repoTags.some((t) => decodeURIComponent(product).includes(t.split(':')[0].split('/').pop()!))
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
