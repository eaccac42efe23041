import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { shared } from './paths.js';

const load = (...p: string[]) => JSON.parse(readFileSync(shared('schemas', ...p), 'utf8'));

let ajv: Ajv.default | undefined;
function instance(): Ajv.default {
  if (ajv) return ajv;
  const A = (Ajv as unknown as { default: typeof Ajv.default }).default ?? Ajv;
  ajv = new A({ strict: false, allErrors: true, validateFormats: true });
  // Both packages are CommonJS with a `default` export; pick the callable either way.
  const formats = ((addFormats as unknown as { default?: unknown }).default ?? addFormats) as (
    a: Ajv.default,
  ) => void;
  formats(ajv);
  ajv.addSchema(load('cyclonedx', 'spdx.schema.json'), 'spdx.schema.json');
  ajv.addSchema(load('cyclonedx', 'jsf-0.82.schema.json'), 'jsf-0.82.schema.json');
  ajv.addSchema(load('cyclonedx', 'bom-1.6.schema.json'), 'cyclonedx-1.6');
  ajv.addSchema(load('spdx', 'spdx-2.3-schema.json'), 'spdx-2.3');
  return ajv;
}

/** Validate a document against an official schema; returns the error list (empty when valid). */
let ajv4: Ajv.default | undefined;
/** SARIF's schema is draft-04, which needs Ajv's draft-04 build. */
function sarifValidator() {
  if (!ajv4) {
    const A = ((AjvDraft04 as unknown as { default?: unknown }).default ?? AjvDraft04) as typeof Ajv.default;
    ajv4 = new A({ strict: false, allErrors: true });
    const formats = ((addFormats as unknown as { default?: unknown }).default ?? addFormats) as (
      a: Ajv.default,
    ) => void;
    formats(ajv4);
    ajv4.addSchema(load('sarif', 'sarif-schema-2.1.0.json'), 'sarif-2.1.0');
  }
  return ajv4.getSchema('sarif-2.1.0')!;
}

export function schemaErrors(schema: 'cyclonedx-1.6' | 'spdx-2.3' | 'sarif-2.1.0', doc: unknown): string[] {
  const v = schema === 'sarif-2.1.0' ? sarifValidator() : instance().getSchema(schema)!;
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

let ajv2020: Ajv.default | undefined;
/** Draft 2020-12 schemas (OSV). */
export function schemaErrors2020(schema: 'osv' | 'openvex', doc: unknown): string[] {
  if (!ajv2020) {
    const A =
      (Ajv2020 as unknown as { default?: typeof Ajv.default }).default ??
      (Ajv2020 as unknown as typeof Ajv.default);
    ajv2020 = new A({ strict: false, allErrors: true });
    const formats = ((addFormats as unknown as { default?: unknown }).default ?? addFormats) as (
      a: Ajv.default,
    ) => void;
    formats(ajv2020);
    ajv2020.addSchema(load('osv', 'osv-schema.json'), 'osv');
    ajv2020.addSchema(load('openvex', 'openvex_json_schema.json'), 'openvex');
  }
  const v = ajv2020.getSchema(schema)!;
  return v(doc) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
