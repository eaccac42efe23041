import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { shared } from './paths.js';

type AjvClass = typeof Ajv.default;
type AjvInstance = Ajv.default;

const load = (...p: string[]) => JSON.parse(readFileSync(shared('schemas', ...p), 'utf8'));
// These packages are CommonJS with a `default` export; pick the callable either way.
const cjs = <T>(m: unknown): T => ((m as { default?: unknown }).default ?? m) as T;

/** One Ajv per JSON Schema draft the official schemas use, with every schema they need. */
const SETUPS: Record<string, { ajv: unknown; schemas: Array<[string[], string]> }> = {
  draft7: {
    ajv: Ajv,
    schemas: [
      [['cyclonedx', 'spdx.schema.json'], 'spdx.schema.json'],
      [['cyclonedx', 'jsf-0.82.schema.json'], 'jsf-0.82.schema.json'],
      [['cyclonedx', 'bom-1.6.schema.json'], 'cyclonedx-1.6'],
      [['spdx', 'spdx-2.3-schema.json'], 'spdx-2.3'],
    ],
  },
  draft4: { ajv: AjvDraft04, schemas: [[['sarif', 'sarif-schema-2.1.0.json'], 'sarif-2.1.0']] },
  draft2020: {
    ajv: Ajv2020,
    schemas: [
      [['osv', 'osv-schema.json'], 'osv'],
      [['openvex', 'openvex_json_schema.json'], 'openvex'],
    ],
  },
};
const instances = new Map<string, AjvInstance>();

function validator(draft: keyof typeof SETUPS, key: string) {
  let ajv = instances.get(draft);
  if (!ajv) {
    const A = cjs<AjvClass>(SETUPS[draft].ajv);
    ajv = new A({ strict: false, allErrors: true });
    cjs<(a: AjvInstance) => void>(addFormats)(ajv);
    // ajv-formats has no IRI or IDN formats (OpenVEX and CycloneDX use them); Ajv warned and skipped the
    // check. An IRI is a URI that may hold non-ASCII characters: WHATWG URL parsing accepts both.
    ajv.addFormat('iri', (v: string) => URL.canParse(v));
    ajv.addFormat('iri-reference', (v: string) => URL.canParse(v, 'http://base.invalid/'));
    ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/u);
    for (const [path, name] of SETUPS[draft].schemas) ajv.addSchema(load(...path), name);
    instances.set(draft, ajv);
  }
  return ajv.getSchema(key)!;
}

function errorsOf(v: ReturnType<typeof validator>, doc: unknown): string[] {
  return v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Validate a document against an official schema; returns the error list (empty when valid). */
export function schemaErrors(schema: 'cyclonedx-1.6' | 'spdx-2.3' | 'sarif-2.1.0', doc: unknown): string[] {
  return errorsOf(validator(schema === 'sarif-2.1.0' ? 'draft4' : 'draft7', schema), doc);
}

/** Draft 2020-12 schemas (OSV, OpenVEX). */
export function schemaErrors2020(schema: 'osv' | 'openvex', doc: unknown): string[] {
  return errorsOf(validator('draft2020', schema), doc);
}
