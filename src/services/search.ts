import type { Db } from '../store/db.js';
import { listImages } from '../store/images.js';
import { findingHits, namesAndPlaces, packageHits } from '../store/search.js';

/** A vulnerability id as the search box takes one (CVE, GHSA, GO, PYSEC, RUSTSEC, any XXX-YYYY-…). */
const ID_LIKE =
  /^(CVE-\d{4}-\d+|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|GO-\d{4}-\d+|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d+|[A-Z]+-\d{4}-[\w.-]+)$/i;

export interface SearchQuery {
  q?: string;
  vulnerability?: string;
  package?: string;
  version?: string;
  limit?: number;
}

/**
 * The dashboard's search box: a vulnerability id, a package (`name@version` or a name alone), an
 * image (repository, tag or digest); each hit with the image's names and where it runs now.
 */
export async function searchFleet(db: Db, query: SearchQuery) {
  const q = (query.q ?? '').trim();
  const limit = query.limit ?? 200;
  let vulnerability = query.vulnerability;
  let pkg = query.package;
  let version = query.version;
  if (!vulnerability && !pkg && q) {
    if (ID_LIKE.test(q))
      vulnerability = q.toUpperCase().startsWith('GHSA') ? q.replace(/^ghsa/i, 'GHSA') : q.toUpperCase();
    else if (/^[^\s@:/]+[@ ][^\s@]+$/.test(q)) [pkg, version] = q.split(/[@ ]/);
  }
  type Hit = {
    digest: string;
    package?: string;
    version?: string;
    vulnerability?: string;
    severity?: string;
  };
  let kind: 'package' | 'vulnerability' | 'image';
  let hits: Hit[];
  if (vulnerability) {
    kind = 'vulnerability';
    hits = await findingHits(db, vulnerability, limit);
  } else if (pkg) {
    kind = 'package';
    hits = await packageHits(db, pkg, version, limit);
  } else {
    kind = 'image';
    const digest = /^sha256:[a-f0-9]{64}$/.test(q) ? q : undefined;
    const byName = digest ? [] : await listImages(db, { repository: q, limit: 100 }).then((r) => r.items);
    const byTag = digest ? [] : await listImages(db, { tag: q, limit: 100 }).then((r) => r.items);
    const byDigest = digest ? await listImages(db, { digest, limit: 100 }).then((r) => r.items) : [];
    hits = [
      ...new Map([...byDigest, ...byName, ...byTag].map((i) => [i.digest, { digest: i.digest }])).values(),
    ];
    // A package name on its own: every image holding any version of it.
    if (!hits.length && q && !digest) {
      kind = 'package';
      hits = await packageHits(db, q, undefined, limit);
    }
  }
  const digests = [...new Set(hits.map((h) => h.digest))];
  const { names, running, scans } = await namesAndPlaces(db, digests);
  return {
    kind,
    items: hits.map((h) => ({
      ...h,
      images: [...new Set(names.get(h.digest) ?? [])],
      runningIn: [...(running.get(h.digest) ?? [])].sort(),
      scan: scans.get(h.digest) ?? null,
    })),
  };
}
