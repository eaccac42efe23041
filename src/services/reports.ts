import { CustomsError } from '../errors.js';
import { now, type Db } from '../store/db.js';
import { loadInventoryWithProvenance, saveInventory, type Provenance } from '../store/images.js';
import { noteDisagreement } from './provenance.js';
import { inventoryDisagreement, parseReport, reportDigest, reportPlace } from './report.js';

/** What storing a report leaves for the caller to do on its side: record the image, ask for scans. */
export interface StoredReport {
  digest: string;
  registry: string;
  repository: string;
  tag?: string;
  context: Record<string, string>;
  provenance: Provenance;
  /** The server had read this image itself: the report was compared, not kept. */
  superseded: boolean;
}

/**
 * A CI upload's bytes → its inventory stored as `reported` (by `by`, the token or user), unless the
 * server read the image itself: then the report is only compared with what the server read. All
 * the CPU it costs (parsing, validating, packing, indexing) happens here, which the server runs in
 * a worker thread.
 */
export async function storeReport(db: Db, bytes: Buffer | Uint8Array, by: string): Promise<StoredReport> {
  const r = parseReport(bytes);
  const digest = reportDigest(r);
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new CustomsError(`bad image digest ${digest}`);
  const place = reportPlace(r);
  const provenance: Provenance = { kind: 'reported', by, at: now() };
  const saved = await saveInventory(
    db,
    digest,
    { image: r.image, os: r.os, packages: r.packages, warnings: [] },
    provenance,
  );
  let superseded = false;
  if (!saved.stored) {
    const existing = await loadInventoryWithProvenance(db, digest);
    if (existing?.provenance.kind === 'server-scan') {
      superseded = true;
      await noteDisagreement(db, {
        digest,
        image: `${place.registry}/${place.repository}@${digest}`,
        reported: provenance,
        disagreement: inventoryDisagreement(existing.inventory, r),
        environment: r.context?.environment,
      });
    }
  }
  const context = Object.fromEntries(
    Object.entries(r.context ?? {}).filter(([, v]) => typeof v === 'string'),
  ) as Record<string, string>;
  return { digest, ...place, context, provenance, superseded };
}
