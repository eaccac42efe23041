import type { StoreWriter } from '../store.js';
import { debian } from '../../ecosystems/distros/debian.js';
import { isObject, type ImportCounts, type Importer, type ParsedFile } from './importer.js';
import { saneVersion } from './osv.js';

/** The ecosystem its rows are stored under: the distro record's. */
const DEBIAN = debian.feed!.ecosystem;

/** Debian codenames to the release numbers images report in VERSION_ID. */
export const DEBIAN_RELEASES: Record<string, string> = {
  wheezy: '7',
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
  duke: '15',
};

interface ReleaseStatus {
  status?: string;
  fixed_version?: string;
  urgency?: string;
  nodsa?: string;
  nodsa_reason?: string;
}

/**
 * The Debian security tracker's JSON (source package → CVE → release → status). Unlike OSV it
 * says which open issues Debian will not fix (`<ignored>`, end-of-life packages) and which are
 * unimportant, so findings can carry that status.
 */
export const debianTrackerImporter: Importer = {
  name: 'debian-tracker',
  claims(f: ParsedFile) {
    if (!isObject(f.data)) return false;
    const first = Object.values(f.data)[0];
    return (
      isObject(first) &&
      Object.keys(first).some((k) => /^(CVE-|TEMP-)/.test(k)) &&
      isObject(Object.values(first)[0]) &&
      'releases' in (Object.values(first)[0] as object)
    );
  },
  // The tracker is published whole: what it no longer lists goes.
  startDocument: (w: StoreWriter) => w.clearSource('debian-tracker'),
  // One entry per source package: a document too large to parse whole is read in parts.
  streamable: true,
  import(f: ParsedFile, w: StoreWriter, counts: ImportCounts) {
    if (!f.part) w.clearSource('debian-tracker');
    for (const [pkg, cves] of Object.entries(
      f.data as Record<
        string,
        Record<string, { releases?: Record<string, ReleaseStatus>; description?: string }>
      >,
    )) {
      if (!isObject(cves)) continue;
      for (const [id, info] of Object.entries(cves)) {
        if (!/^CVE-\d{4}-\d+$/.test(id) || !isObject(info) || !isObject(info.releases)) {
          counts.skipped++;
          continue;
        }
        for (const [codename, r] of Object.entries(info.releases)) {
          const release = DEBIAN_RELEASES[codename];
          if (!release || !isObject(r)) continue;
          const fixed = r.fixed_version;
          let status = 'affected';
          let ranges = [
            { type: 'ECOSYSTEM', events: [{ introduced: '0' }] as Array<Record<string, string>> },
          ];
          if (r.status === 'resolved' && fixed === '0') {
            status = 'not_affected';
            ranges = [];
          } else if (r.status === 'resolved' && saneVersion(fixed)) {
            ranges[0].events.push({ fixed });
          } else if (r.urgency === 'end-of-life') {
            status = 'end_of_life';
          } else if (r.nodsa_reason === 'ignored' || r.status === 'ignored') {
            status = 'will_not_fix';
          }
          w.addAffected('debian-tracker', id, {
            ecosystem: `${DEBIAN}:${release}`,
            ecoBase: DEBIAN,
            ecoRelease: release,
            package: pkg,
            packageRaw: pkg,
            ranges,
            ecosystemSpecific: {
              urgency: r.urgency,
              ...(r.nodsa !== undefined ? { nodsa: r.nodsa, nodsa_reason: r.nodsa_reason } : {}),
            },
            status,
          });
          counts.records++;
        }
      }
    }
  },
};
