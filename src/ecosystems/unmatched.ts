import type { Ecosystem } from './model.js';

/**
 * Ecosystems OSV publishes that `db update` fetches but nothing matches yet (no version order
 * here, so the OSV importer skips their records): a version scheme and a purl type (or a distro
 * record) make one of them matched.
 */
export const unmatched: Ecosystem[] = [
  { osv: 'Mageia', osvFeed: true, catalogers: [] },
  { osv: 'openEuler', osvFeed: true, catalogers: [] },
  { osv: 'Bitnami', osvFeed: true, catalogers: [] },
  { osv: 'GitHub Actions', osvFeed: true, catalogers: [] },
];
