/**
 * Attestations an image carries in its registry: BuildKit's attestation manifests (in-toto
 * statements beside the image in its index) and OCI 1.1 referrers (artifacts whose `subject` is
 * the image). Customs reads SBOMs (SPDX, CycloneDX) and SLSA provenance from them.
 */

export interface Provenance {
  builder?: string;
  buildType?: string;
  /** Where the build's definition came from, e.g. `https://github.com/org/app.git#main`. */
  sourceRepo?: string;
  commit?: string;
  /** Base images and other materials the build pulled. */
  materials?: string[];
}

export interface Attestation {
  kind: 'sbom' | 'provenance' | 'other';
  /** BuildKit attestation manifest, or an OCI referrer. */
  via: 'buildkit' | 'referrers';
  /** in-toto predicate type or artifact media type. */
  type: string;
  digest: string;
  sbomFormat?: 'spdx' | 'cyclonedx';
  provenance?: Provenance;
  /** Filled after cataloguing: how the attested SBOM compares with Customs' own inventory. */
  comparison?: SbomComparison;
}

export interface SbomComparison {
  attested: number;
  common: number;
  onlyAttested: string[];
  onlyCustoms: string[];
}

/** An attestation with its document (the SBOM itself is kept out of the image metadata). */
export interface AttestationWithDoc {
  attestation: Attestation;
  sbom?: Record<string, unknown>;
}

const SPDX_PREDICATES = ['https://spdx.dev/Document', 'https://spdx.dev/Document/v2.3'];
const CDX_PREDICATES = [
  'https://cyclonedx.org/bom',
  'https://cyclonedx.org/bom/v1.4',
  'https://cyclonedx.org/bom/v1.5',
  'https://cyclonedx.org/bom/v1.6',
];
export const SBOM_MEDIA_TYPES: Record<string, 'spdx' | 'cyclonedx'> = {
  'application/spdx+json': 'spdx',
  'text/spdx+json': 'spdx',
  'application/vnd.cyclonedx+json': 'cyclonedx',
};

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** What an in-toto statement (or a bare SBOM document) holds. */
export function interpretDocument(
  doc: unknown,
  via: Attestation['via'],
  digest: string,
  mediaType?: string,
): AttestationWithDoc {
  const d = obj(doc);
  const predicateType = str(d.predicateType);
  if (predicateType) {
    const predicate = obj(d.predicate);
    if (
      SPDX_PREDICATES.includes(predicateType) ||
      (predicateType.startsWith('https://spdx.dev/') && predicate.spdxVersion)
    )
      return {
        attestation: { kind: 'sbom', via, type: predicateType, digest, sbomFormat: 'spdx' },
        sbom: predicate,
      };
    if (
      CDX_PREDICATES.includes(predicateType) ||
      (predicateType.startsWith('https://cyclonedx.org/') && predicate.bomFormat)
    )
      return {
        attestation: { kind: 'sbom', via, type: predicateType, digest, sbomFormat: 'cyclonedx' },
        sbom: predicate,
      };
    if (predicateType.startsWith('https://slsa.dev/provenance/'))
      return {
        attestation: {
          kind: 'provenance',
          via,
          type: predicateType,
          digest,
          provenance: provenanceOf(predicateType, predicate),
        },
      };
    return { attestation: { kind: 'other', via, type: predicateType, digest } };
  }
  // A bare SBOM pushed as a referrer artifact.
  if (d.bomFormat === 'CycloneDX')
    return {
      attestation: {
        kind: 'sbom',
        via,
        type: mediaType ?? 'application/vnd.cyclonedx+json',
        digest,
        sbomFormat: 'cyclonedx',
      },
      sbom: d,
    };
  if (typeof d.spdxVersion === 'string')
    return {
      attestation: {
        kind: 'sbom',
        via,
        type: mediaType ?? 'application/spdx+json',
        digest,
        sbomFormat: 'spdx',
      },
      sbom: d,
    };
  return { attestation: { kind: 'other', via, type: mediaType ?? 'unknown', digest } };
}

/** SLSA provenance v0.2 and v1, with BuildKit's metadata for the VCS source and revision. */
export function provenanceOf(predicateType: string, p: Json): Provenance {
  const out: Provenance = {};
  if (predicateType.includes('/v0.')) {
    out.builder = str(obj(p.builder).id);
    out.buildType = str(p.buildType);
    const config = obj(obj(p.invocation).configSource);
    out.sourceRepo = str(config.uri);
    out.commit = str(obj(config.digest).sha1);
    const vcs = obj(obj(obj(p.metadata)['https://mobyproject.org/buildkit@v1#metadata']).vcs);
    out.sourceRepo ??= str(vcs.source);
    out.commit ??= str(vcs.revision);
    const materials = Array.isArray(p.materials) ? p.materials : [];
    out.materials = materials.map((m) => str(obj(m).uri)).filter((u): u is string => !!u);
  } else {
    const def = obj(p.buildDefinition);
    const run = obj(p.runDetails);
    out.builder = str(obj(run.builder).id);
    out.buildType = str(def.buildType);
    const config = obj(obj(def.externalParameters).configSource);
    out.sourceRepo = str(config.uri);
    out.commit = str(obj(config.digest).sha1);
    const vcs = obj(obj(obj(run.metadata).buildkit_metadata).vcs);
    out.sourceRepo ??= str(vcs.source);
    out.commit ??= str(vcs.revision);
    const deps = Array.isArray(def.resolvedDependencies) ? def.resolvedDependencies : [];
    out.materials = deps.map((m) => str(obj(m).uri)).filter((u): u is string => !!u);
  }
  if (!out.materials?.length) delete out.materials;
  return out;
}

/** One line for a person: what the image carries. */
export function describeAttestation(a: Attestation): string {
  if (a.kind === 'provenance') {
    const p = a.provenance ?? {};
    const parts = [
      p.builder && `builder ${p.builder}`,
      p.sourceRepo && `source ${p.sourceRepo}`,
      p.commit && `commit ${p.commit}`,
    ].filter(Boolean);
    return `provenance (${a.via}): ${parts.join(', ') || a.type}`;
  }
  if (a.kind === 'sbom') {
    const c = a.comparison;
    const cmp = c
      ? `: ${c.attested} packages, ${c.common} also found by Customs, ${c.onlyAttested.length} only in the attestation${c.onlyAttested.length ? ` (${c.onlyAttested.slice(0, 5).join(', ')}${c.onlyAttested.length > 5 ? ', …' : ''})` : ''}, ${c.onlyCustoms.length} only in Customs' inventory${c.onlyCustoms.length ? ` (${c.onlyCustoms.slice(0, 5).join(', ')}${c.onlyCustoms.length > 5 ? ', …' : ''})` : ''}`
      : '';
    return `${a.sbomFormat === 'spdx' ? 'SPDX' : 'CycloneDX'} SBOM attestation (${a.via})${cmp}`;
  }
  return `attestation ${a.type} (${a.via})`;
}
