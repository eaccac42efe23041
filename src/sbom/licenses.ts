import parse from 'spdx-expression-parse';
import { createRequire } from 'node:module';

const ids = createRequire(import.meta.url)('spdx-license-ids') as string[];

const ID_SET = new Map(ids.map((id) => [id.toLowerCase(), id]));

/** The SPDX list's spelling of a licence id, when the text is exactly one (case-insensitive). */
export function spdxId(text: string): string | undefined {
  return ID_SET.get(text.trim().toLowerCase());
}

export function isCompoundExpression(text: string): boolean {
  if (!/\s(AND|OR|WITH)\s/.test(text)) return false;
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A LicenseRef- id for a licence name that is not on the SPDX list (SPDX ids allow [A-Za-z0-9.-]). */
export function licenseRef(name: string): string {
  return `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown'}`;
}
