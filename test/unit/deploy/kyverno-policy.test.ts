import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { verdictPredicateType } from '../../../src/gate/attest/statement.js';
import { ROOT } from '../../helpers/paths.js';

// Kyverno's CRD schema is not available offline here: the policy's structure is asserted instead,
// against what Customs attaches (the per-environment verdict type and the predicate's fields).
describe('the Kyverno example policy', () => {
  const doc = YAML.parse(readFileSync(join(ROOT, 'deploy/kyverno/verify-customs-verdict.yaml'), 'utf8'));

  it('is an enforcing ClusterPolicy that verifies images of Pods in the production namespace', () => {
    assert.equal(doc.apiVersion, 'kyverno.io/v1');
    assert.equal(doc.kind, 'ClusterPolicy');
    assert.equal(doc.spec.validationFailureAction, 'Enforce');
    const rule = doc.spec.rules[0];
    assert.deepEqual(rule.match.any[0].resources.kinds, ['Pod']);
    assert.deepEqual(rule.match.any[0].resources.namespaces, ['production']);
    const v = rule.verifyImages[0];
    assert.equal(v.required, true);
    assert.equal(v.mutateDigest, true);
    assert.equal(v.verifyDigest, true);
  });

  it('requires the production verdict type, a key-signed statement, and an allowed, unexpired verdict for the image’s repository', () => {
    const a = doc.spec.rules[0].verifyImages[0].attestations[0];
    assert.equal(a.type, verdictPredicateType('production'));
    const entry = a.attestors[0].entries[0];
    assert.match(entry.keys.publicKeys, /BEGIN PUBLIC KEY/);
    assert.equal(entry.keys.signatureAlgorithm, 'sha256');
    const all = a.conditions[0].all as Array<{ key: string; operator: string; value: unknown }>;
    const byKey = new Map(all.map((c) => [c.key, c]));
    assert.equal(byKey.get('{{ environment }}')?.value, 'production');
    assert.equal(byKey.get('{{ allowed }}')?.value, true);
    assert.equal(byKey.get('{{ time_after(time_now_utc(), validUntil) }}')?.value, false);
    // The verdict's repository against the image being admitted (Kyverno puts the image's
    // registry and path in the context beside the predicate's fields).
    assert.equal(byKey.get('{{ repository }}')?.operator, 'Equals');
    assert.equal(byKey.get('{{ repository }}')?.value, '{{ image.registry }}/{{ image.path }}');
  });
});
