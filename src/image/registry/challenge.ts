/** One `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate header (RFC 7235). Registries send one challenge; several are read and
 * the first Bearer, else the first Basic, is used. Written by hand: it is a dozen lines and no
 * small library parses the auth-param grammar with quoted commas.
 */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const re =
    /([A-Za-z][\w!#$%&'*+.^`|~-]*)(?:\s+|$)((?:[\w!#$%&'*+.^`|~-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?\s*)*)/gy;
  let rest = header.trim();
  while (rest) {
    re.lastIndex = 0;
    const m = re.exec(rest);
    if (!m || m[0].length === 0) break;
    const params: Record<string, string> = {};
    const pre = /([\w!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
    for (const p of m[2].matchAll(pre))
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    out.push({ scheme: m[1].toLowerCase(), params });
    rest = rest.slice(m[0].length).replace(/^[\s,]+/, '');
  }
  return out;
}

export function pickChallenge(list: Challenge[]): Challenge | undefined {
  return list.find((c) => c.scheme === 'bearer') ?? list.find((c) => c.scheme === 'basic');
}
