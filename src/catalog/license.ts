import parse from 'spdx-expression-parse';

/** Is this a valid SPDX license expression (ids from the SPDX list, AND/OR/WITH)? */
export function isSpdxExpression(text: string): boolean {
  try {
    parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A package's declared licence field as a list: kept whole when it is an SPDX expression,
 * otherwise split on the separators the distro uses: " and "/" or "/commas (rpm, dpkg), and
 * also plain spaces for apk, whose older databases list licences as "MIT BSD GPL2+".
 */
export function splitLicenses(field: string | undefined, spaceSeparated = false): string[] {
  const text = (field ?? '').trim();
  if (!text) return [];
  if (isSpdxExpression(text)) return [text];
  const sep = spaceSeparated ? /\s+(?:and|or|AND|OR)\s+|[,;]\s*|\s+/ : /\s+(?:and|or|AND|OR)\s+|[,;]\s*/;
  return text
    .split(sep)
    .map((s) => s.replace(/^\(+|\)+$/g, '').trim())
    .filter((s) => s && !/^(and|or|with)$/i.test(s));
}
