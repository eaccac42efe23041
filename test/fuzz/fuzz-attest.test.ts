import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { trustedKey } from '../../src/gate/cosign.js';
import { parseEnvelope, signEnvelope } from '../../src/gate/attest/dsse.js';
import { OPENVEX_PREDICATE, statement, VULN_PREDICATE } from '../../src/gate/attest/statement.js';
import { openVex } from '../../src/gate/attest/vex.js';
import { MAX_REFERRERS, referrersOf } from '../../src/gate/attest/oci.js';
import { artifactReason } from '../../src/image/registry/artifact.js';
import { judgeEnvelope } from '../../src/gate/attest/verify.js';
import { apply, mutation } from './mutate.js';
import { judge, type Target } from './targets.js';

/*
 * What a registry hands `customs verify --attestation` (a DSSE envelope under the .att tag),
 * fuzzed as test/fuzz/fuzz.test.ts fuzzes the other inputs: mutated real-shaped envelopes never crash
 * (only CustomsError), hang or blow up memory, and judging a parsed one never throws at all.
 */
const RUNS = Number(process.env.CUSTOMS_FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.CUSTOMS_FUZZ_SEED ?? 20261207);

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const keys = [trustedKey(publicKey.export({ type: 'spki', format: 'pem' }).toString())];
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const st = statement('registry.local/team/app', DIGEST, VULN_PREDICATE, { scanner: { result: {} } });
const SEEDS = [
  Buffer.from(JSON.stringify(signEnvelope(Buffer.from(JSON.stringify(st)), privateKey, 'k'))),
  Buffer.from(JSON.stringify(signEnvelope(Buffer.from('{"_type":1,"subject":[{}]}'), privateKey))),
];

// A VEX document as `--vex` reads it (file or URL), plain and signed.
const VEX = {
  '@context': 'https://openvex.dev/ns/v0.2.0',
  '@id': 'https://customs.invalid/vex/x',
  author: 'customs server',
  timestamp: '2026-12-07T00:00:00.000Z',
  version: 1,
  statements: [
    {
      vulnerability: { name: 'CVE-2019-14697', aliases: ['GHSA-x'] },
      timestamp: '2026-12-07T00:00:00.000Z',
      products: [
        {
          '@id': `pkg:oci/app@${encodeURIComponent(DIGEST)}`,
          subcomponents: [{ '@id': 'pkg:apk/alpine/musl' }],
        },
      ],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impact_statement: 'not reachable',
    },
  ],
};
const VEX_SEEDS = [
  Buffer.from(
    JSON.stringify(
      signEnvelope(
        Buffer.from(JSON.stringify(statement('registry.local/team/app', DIGEST, OPENVEX_PREDICATE, VEX))),
        privateKey,
        'k',
      ),
    ),
  ),
  Buffer.from(JSON.stringify(VEX)),
];

// What a registry (or whoever may push to it) answers for the image's referrers, and the manifests
// the scan job reads to tell an artifact from an image.
const REFERRER = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: DIGEST,
  size: 512,
  artifactType: 'application/vnd.dsse.envelope.v1+json',
  annotations: { 'in-toto.io/predicate-type': VULN_PREDICATE, 'dev.customs.attestation.key-id': 'k' },
};
const INDEX_SEEDS = [
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [REFERRER, { ...REFERRER, annotations: {} }],
    }),
  ),
];
const MANIFEST_SEEDS = [
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.dsse.envelope.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, digest: DIGEST },
      layers: [{ mediaType: 'application/vnd.dsse.envelope.v1+json', size: 9, digest: DIGEST }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 9, digest: DIGEST },
    }),
  ),
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: DIGEST },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 9, digest: DIGEST }],
    }),
  ),
];

const TARGETS: Target[] = [
  {
    name: 'referrers index (registry answer or fallback tag): bounded descriptors',
    seeds: INDEX_SEEDS,
    run: (b) => {
      const r = referrersOf(b);
      if (r.descriptors.length > MAX_REFERRERS) throw new Error('more descriptors than the bound');
      return r;
    },
  },
  {
    name: 'manifest: artifact or image',
    seeds: MANIFEST_SEEDS,
    run: (b) => artifactReason(b, 'application/vnd.oci.image.manifest.v1+json'),
  },
  {
    name: 'VEX (--vex-key): open, verify, read the statements',
    seeds: VEX_SEEDS,
    run: (b) => openVex(b, 'fuzz', keys),
  },
  { name: 'VEX (no key): read the statements', seeds: VEX_SEEDS, run: (b) => openVex(b, 'fuzz') },
  { name: 'DSSE envelope: parse', seeds: SEEDS, run: (b) => parseEnvelope(b) },
  {
    name: 'DSSE envelope: parse, then judge (signature, statement, subject)',
    seeds: SEEDS,
    run: (b) => judgeEnvelope(parseEnvelope(b), DIGEST, VULN_PREDICATE, keys),
  },
];

describe('fuzzing attestation envelopes: no crash, no hang, no memory blow-up', { timeout: 600_000 }, () => {
  for (const t of TARGETS) {
    it(t.name, async () => {
      for (const s of t.seeds) assert.equal(await judge(t, s), undefined);
      const inputs = mutation(t.seeds.length).map((m) => apply(t.seeds[m.seed], m.ops));
      await fc.assert(
        fc.asyncProperty(inputs, async (input) => {
          const verdict = await judge(t, input);
          if (verdict) throw new Error(verdict);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }
});
