import { audit } from './audit.js';
import { queueNotice } from '../store/alerts.js';
import type { Db } from '../store/db.js';
import { runningIn } from '../store/deployments.js';
import type { Provenance } from '../store/images.js';
import type { inventoryDisagreement } from './report.js';

/**
 * A report that disagrees with what the server read itself is either a broken CI step or someone
 * hiding packages from the gate: either way an audit entry and one alert ("report by token:ci#3
 * omitted 14 packages of 120 …"), once per report.
 */
export async function noteDisagreement(
  db: Db,
  o: {
    digest: string;
    image: string;
    reported: Provenance;
    disagreement: ReturnType<typeof inventoryDisagreement>;
    /** The environment the report named, if any. */
    environment?: string;
  },
): Promise<boolean> {
  const d = o.disagreement;
  if (!d.omitted && !d.versionDiffers) return false;
  const by = o.reported.by ?? 'an unknown client';
  const parts = [
    d.omitted ? `omitted ${d.omitted} package${d.omitted === 1 ? '' : 's'}` : '',
    d.versionDiffers ? `gave another version for ${d.versionDiffers}` : '',
  ].filter(Boolean);
  const summary = `report by ${by} ${parts.join(' and ')} of the ${d.total} the server found in ${o.image}`;
  await audit({ db, actor: 'system' }, 'report.disagrees', o.digest, {
    image: o.image,
    reportedBy: o.reported.by,
    reportedAt: o.reported.at,
    omitted: d.omitted,
    versionDiffers: d.versionDiffers,
    extra: d.extra,
    serverPackages: d.total,
    examples: d.examples,
  });
  // Where the image runs now, else where the report said it was bound, else production.
  const environment = (await runningIn(db, o.digest))[0] ?? o.environment ?? 'production';
  await queueNotice(db, {
    kind: 'provenance',
    key: `report:${o.digest}:${o.reported.by ?? ''}:${o.reported.at ?? ''}`,
    environment,
    subject: o.image,
    summary,
    items: d.examples.map((e) => ({
      id: 'report-omission',
      package: e,
      version: '',
      severity: 'report',
      kev: false,
    })),
  });
  return true;
}
