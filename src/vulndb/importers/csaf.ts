import type { StoreWriter } from '../store.js';
import { rhel } from '../../ecosystems/distros/redhat.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';

/** The ecosystem its rows are stored under: the distro record's. */
const RED_HAT = rhel.feed!.ecosystem;

/*
 * Red Hat's CSAF VEX files (one per CVE, `cve-YYYY-NNNN.json`, CSAF 2.0 with document category
 * `csaf_vex`). Fixed packages come from Red Hat's advisories (OSV `Red Hat` ecosystem); what only the
 * VEX files say is which products stay affected without a fix: `known_affected` components whose
 * remediation is `no_fix_planned` (Red Hat's "Will not fix") are will_not_fix, the rest (none
 * available, fix deferred, under a workaround) affected with no fixed version. `known_not_affected`
 * components are not affected.
 *
 * A product id in the status lists is a relationship's full product id ("red_hat_enterprise_linux_8:
 * curl"): its platform carries the CPE (`cpe:/o:redhat:enterprise_linux:8`, or `…:8::appstream`),
 * which gives the release, and its component the source package (purl `pkg:rpm/redhat/curl?arch=src`,
 * else the name). Rows are keyed by that source package: an image's binary rpms (libcurl…) find
 * them through their source rpm. Only Red Hat Enterprise Linux platforms are read.
 */

interface Product {
  name?: string;
  product_id?: string;
  product_identification_helper?: { cpe?: string; purl?: string };
}
interface Branch {
  product?: Product;
  branches?: Branch[];
}
interface Relationship {
  full_product_name?: { product_id?: string };
  product_reference?: string;
  relates_to_product_reference?: string;
}
interface Vulnerability {
  cve?: string;
  title?: string;
  notes?: Array<{ category?: string; text?: string }>;
  product_status?: { known_affected?: string[]; known_not_affected?: string[] };
  remediations?: Array<{ category?: string; details?: string; product_ids?: string[] }>;
  threats?: Array<{ category?: string; details?: string }>;
  release_date?: string;
}

function products(branches: Branch[] | undefined, out = new Map<string, Product>()): Map<string, Product> {
  for (const b of branches ?? []) {
    if (b.product?.product_id) out.set(b.product.product_id, b.product);
    if (Array.isArray(b.branches)) products(b.branches, out);
  }
  return out;
}

/** `cpe:/o:redhat:enterprise_linux:8` → `enterprise_linux:8`; other products → undefined. */
export function rhelRelease(cpe: string | undefined): string | undefined {
  const m = /^cpe:\/[ao]:redhat:(enterprise_linux:\d+(?::[^:]*)*)$/.exec(cpe ?? '');
  return m?.[1];
}

function componentName(p: Product | undefined): string | undefined {
  const purl = p?.product_identification_helper?.purl;
  const m = purl ? /^pkg:rpm\/redhat\/([^@?]+)/.exec(purl) : null;
  const name = m ? decodeURIComponent(m[1]) : p?.name;
  return name && /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) ? name : undefined;
}

export const csafImporter: Importer = {
  name: 'redhat-csaf',
  claims: (f: ParsedFile) =>
    isObject(f.data) &&
    isObject((f.data as { document?: unknown }).document) &&
    (f.data as { document: { category?: unknown } }).document.category === 'csaf_vex',
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    const doc = f.data as {
      document: {
        tracking?: { id?: string; current_release_date?: string; initial_release_date?: string };
        aggregate_severity?: { text?: string };
        title?: string;
      };
      product_tree?: { branches?: Branch[]; relationships?: Relationship[] };
      vulnerabilities?: Vulnerability[];
    };
    const byId = products(doc.product_tree?.branches);
    const rels = new Map<string, Relationship>();
    for (const r of doc.product_tree?.relationships ?? [])
      if (r.full_product_name?.product_id) rels.set(r.full_product_name.product_id, r);
    for (const v of doc.vulnerabilities ?? []) {
      const cve = typeof v.cve === 'string' && /^CVE-\d{4}-\d+$/.test(v.cve) ? v.cve : undefined;
      if (!cve) {
        counts.skipped++;
        continue;
      }
      const remediation = new Map<string, string>();
      for (const r of v.remediations ?? [])
        for (const id of r.product_ids ?? []) if (r.category) remediation.set(id, r.category);
      const rows = new Map<string, { release: string; name: string; status: string; remediation?: string }>();
      const add = (id: string, known: 'affected' | 'not_affected') => {
        const rel = rels.get(id);
        const release = rhelRelease(
          byId.get(rel?.relates_to_product_reference ?? '')?.product_identification_helper?.cpe,
        );
        const name = componentName(byId.get(rel?.product_reference ?? ''));
        if (!release || !name) return;
        const how = remediation.get(id);
        const status =
          known === 'not_affected' ? 'not_affected' : how === 'no_fix_planned' ? 'will_not_fix' : 'affected';
        rows.set(`${release}\u0000${name}`, { release, name, status, remediation: how });
      };
      for (const id of v.product_status?.known_affected ?? []) add(id, 'affected');
      for (const id of v.product_status?.known_not_affected ?? []) add(id, 'not_affected');
      if (!rows.size) {
        counts.skipped++;
        continue;
      }
      const impact =
        v.threats?.find((t) => t.category === 'impact')?.details ?? doc.document.aggregate_severity?.text;
      w.putAdvisory(
        'redhat-csaf',
        {
          id: cve,
          modified: doc.document.tracking?.current_release_date ?? '',
          published: v.release_date ?? doc.document.tracking?.initial_release_date,
          aliases: [],
          summary: typeof v.title === 'string' ? v.title : doc.document.title,
          details: v.notes?.find((n) => n.category === 'description')?.text,
          database_specific: impact ? { severity: impact } : undefined,
          references: [
            { type: 'ADVISORY', url: `https://access.redhat.com/security/cve/${cve.toLowerCase()}` },
          ],
        },
        [...rows.values()].map((r) => ({
          ecosystem: `${RED_HAT}:${r.release}`,
          ecoBase: RED_HAT,
          ecoRelease: r.release,
          package: r.name,
          packageRaw: r.name,
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          // Keyed by the source package: the OS matcher looks these up by each rpm's source name.
          databaseSpecific: { component: 'source', ...(r.remediation ? { remediation: r.remediation } : {}) },
          status: r.status,
        })),
      );
      counts.records++;
    }
  },
};
