/**
 * Who read an inventory: the server itself (pulled from a configured registry by its workers), a
 * client that uploaded it (`by` names the token or user), or an attested SBOM. Results carry the
 * provenance of the inventory they were matched from (a result is kept per digest, database
 * version and provenance; what the server read itself outranks what a client reported).
 */
export type ProvenanceKind = 'server-scan' | 'reported' | 'attested-sbom';
export interface Provenance {
  kind: ProvenanceKind;
  by: string | null;
  at: string | null;
}
