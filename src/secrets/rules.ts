import type { SecretMatch } from '../model/secrets.js';
import type { SeverityLevel } from '../model/severity.js';
import { globalRegex } from '../regex.js';

export type { SecretMatch } from '../model/secrets.js';

/**
 * Secret patterns: one entry per kind of credential. `keywords` is a cheap first filter (a file
 * without any of them is not searched with the pattern); `group` is the capture holding the
 * secret itself; `minEntropy` (bits per character) drops placeholders such as `xxxxxxxx`.
 */
export interface SecretRule {
  id: string;
  title: string;
  severity: SeverityLevel;
  keywords: string[];
  /** Every pattern is linear-time on hostile text: bounded repeats, anchored on a literal. */
  pattern?: RegExp;
  /** A hand-written finder where no linear regular expression exists (PEM blocks). */
  scan?: (text: string) => Iterable<{ index: number; secret: string }>;
  group?: number;
  minEntropy?: number;
}

const PEM_TYPE = /^-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY)(?: BLOCK)?-----/;
/** Longest private key block looked at (an RSA 16384-bit key in PEM is about 13 KB). */
const PEM_MAX = 64 * 1024;

/**
 * PEM private keys: each BEGIN is paired with the next END marker, found once by a cursor that
 * only moves forward, so a file of BEGIN lines without END costs one pass (a lazy `[\s\S]*?`
 * rescanned to the end of the text at every BEGIN).
 */
function* pemKeys(text: string): Iterable<{ index: number; secret: string }> {
  let end = -2;
  let at = text.indexOf('-----BEGIN ');
  while (at >= 0) {
    const next = text.indexOf('-----BEGIN ', at + 11);
    const head = PEM_TYPE.exec(text.slice(at, at + 80));
    if (head) {
      if (end !== -1 && end < at) end = text.indexOf('-----END ', at);
      if (end < 0) return;
      // The END must close this block: no other BEGIN in between, same type, a body, not too long.
      const closes =
        (next < 0 || next > end) &&
        end - at <= PEM_MAX &&
        end - at - head[0].length >= 20 &&
        text.startsWith(`-----END ${head[1]}`, end);
      if (closes) yield { index: at, secret: text.slice(at, end) };
    }
    at = next;
  }
}

export const SECRET_RULES: SecretRule[] = [
  {
    id: 'private-key',
    title: 'Private key',
    severity: 'HIGH',
    keywords: ['PRIVATE KEY'],
    scan: pemKeys,
  },
  {
    id: 'aws-access-key-id',
    title: 'AWS access key ID',
    severity: 'HIGH',
    keywords: ['AKIA', 'ASIA'],
    pattern: /\b((?:AKIA|ASIA)[0-9A-Z]{16})\b/,
    group: 1,
  },
  {
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    severity: 'CRITICAL',
    keywords: ['aws_secret', 'AWS_SECRET', 'aws-secret', 'SecretAccessKey'],
    pattern:
      /(?:aws_?secret_?(?:access_?)?key|SecretAccessKey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/i,
    group: 1,
    minEntropy: 3.5,
  },
  {
    id: 'gcp-service-account',
    title: 'GCP service account key',
    severity: 'CRITICAL',
    keywords: ['service_account'],
    pattern:
      /"type"\s*:\s*"service_account"[\s\S]{0,2000}?"private_key"\s*:\s*"(-----BEGIN PRIVATE KEY-----[^"]{40,8192})"/,
    group: 1,
  },
  {
    id: 'azure-storage-key',
    title: 'Azure storage account key',
    severity: 'CRITICAL',
    keywords: ['AccountKey='],
    pattern: /AccountKey=([A-Za-z0-9+/]{86}==)/,
    group: 1,
  },
  {
    id: 'github-pat',
    title: 'GitHub personal access token',
    severity: 'CRITICAL',
    keywords: ['ghp_', 'github_pat_'],
    pattern: /\b(ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b/,
    group: 1,
  },
  {
    id: 'github-oauth',
    title: 'GitHub OAuth or app token',
    severity: 'CRITICAL',
    keywords: ['gho_', 'ghu_', 'ghs_', 'ghr_'],
    pattern: /\b(gh[ousr]_[A-Za-z0-9]{36})\b/,
    group: 1,
  },
  {
    id: 'gitlab-pat',
    title: 'GitLab personal access token',
    severity: 'CRITICAL',
    keywords: ['glpat-'],
    pattern: /\b(glpat-[A-Za-z0-9_-]{20})\b/,
    group: 1,
  },
  {
    id: 'slack-token',
    title: 'Slack token',
    severity: 'HIGH',
    keywords: ['xox'],
    pattern: /\b(xox[baprs]-[0-9]{10,13}-[0-9A-Za-z-]{10,256})\b/,
    group: 1,
  },
  {
    id: 'slack-webhook',
    title: 'Slack webhook URL',
    severity: 'MEDIUM',
    keywords: ['hooks.slack.com'],
    pattern: /(https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{8,32}\/B[A-Z0-9]{8,32}\/[A-Za-z0-9]{24})/,
    group: 1,
  },
  {
    id: 'npm-token',
    title: 'npm access token',
    severity: 'CRITICAL',
    keywords: ['npm_'],
    pattern: /\b(npm_[A-Za-z0-9]{36})\b/,
    group: 1,
  },
  {
    id: 'npmrc-auth',
    title: 'npm registry credentials in .npmrc',
    severity: 'HIGH',
    keywords: ['_authToken', '_auth'],
    pattern: /:_auth(?:Token)?\s*=\s*([A-Za-z0-9_+/=-]{20,512})/,
    group: 1,
    minEntropy: 3,
  },
  {
    id: 'pypi-token',
    title: 'PyPI upload token',
    severity: 'CRITICAL',
    keywords: ['pypi-AgE'],
    pattern: /\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,512})/,
    group: 1,
  },
  {
    id: 'stripe-secret-key',
    title: 'Stripe secret key',
    severity: 'CRITICAL',
    keywords: ['sk_live_', 'rk_live_'],
    pattern: /\b([sr]k_live_[0-9a-zA-Z]{24,256})\b/,
    group: 1,
  },
  {
    id: 'docker-config-auth',
    title: 'Registry credentials in a docker config.json',
    severity: 'HIGH',
    keywords: ['"auths"'],
    pattern: /"auth"\s*:\s*"([A-Za-z0-9+/=]{12,1024})"/,
    group: 1,
    minEntropy: 3,
  },
  {
    id: 'generic-secret',
    title: 'Password or secret assigned in plain text',
    severity: 'MEDIUM',
    keywords: [
      'password',
      'passwd',
      'secret',
      'token',
      'api_key',
      'apikey',
      'PASSWORD',
      'SECRET',
      'TOKEN',
      'API_KEY',
      'APIKEY',
    ],
    pattern:
      /(?:password|passwd|secret|token|api_?key)["']?[ \t]{0,16}[:=][ \t]{0,16}["']([A-Za-z0-9/+_!@#$%^&*.=-]{12,256})["']/i,
    group: 1,
    minEntropy: 3.7,
  },
];

/** Names of variables that hold credentials (ENV, ARG, config Env). */
export const SECRET_NAME =
  /(PASS(WORD)?|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Never print a secret whole: its first four characters, then stars. */
export function mask(secret: string): string {
  const keep = secret.length > 12 ? 4 : 0;
  return `${secret.slice(0, keep)}${'*'.repeat(Math.min(24, Math.max(8, secret.length - keep)))}`;
}

/** Every rule's keywords in one pattern: most files hold none, and are passed over in one scan. */
const ANY_KEYWORD = new RegExp(
  [...new Set(SECRET_RULES.flatMap((r) => r.keywords))]
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
);

const GLOBAL = new Map(SECRET_RULES.filter((r) => r.pattern).map((r) => [r, globalRegex(r.pattern!)]));

/** Line numbers by binary search over newline offsets found once per text (not a split per match). */
function lineFinder(text: string): (index: number) => number {
  let starts: number[] | undefined;
  return (index) => {
    if (!starts) {
      starts = [];
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i);
    }
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] < index) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

const MAX_PER_RULE = 100;

function* matches(r: SecretRule, text: string): Iterable<{ index: number; secret: string }> {
  if (r.scan) return yield* r.scan(text);
  for (const m of text.matchAll(GLOBAL.get(r)!)) yield { index: m.index, secret: m[r.group ?? 0] };
}

/** Whether a text holds any rule's keyword (all keywords are ASCII, so latin1 text will do). */
export function mayHoldSecrets(text: string): boolean {
  return ANY_KEYWORD.test(text);
}

/** The raw secret strings a text holds (for masking echoes of it; never printed). */
export function secretValues(text: string): string[] {
  const out = new Set<string>();
  if (!ANY_KEYWORD.test(text)) return [];
  for (const r of SECRET_RULES) {
    if (!r.keywords.some((k) => text.includes(k))) continue;
    let n = 0;
    for (const m of matches(r, text)) {
      if (r.minEntropy && entropy(m.secret) < r.minEntropy) continue;
      out.add(m.secret);
      if (++n >= MAX_PER_RULE) break;
    }
  }
  return [...out];
}

/** Every secret in a text (one per rule and line). */
export function findSecrets(text: string): SecretMatch[] {
  const out: SecretMatch[] = [];
  if (!ANY_KEYWORD.test(text)) return out;
  const lineOf = lineFinder(text);
  for (const r of SECRET_RULES) {
    if (!r.keywords.some((k) => text.includes(k))) continue;
    const seen = new Set<number>();
    for (const m of matches(r, text)) {
      const secret = m.secret;
      if (r.minEntropy && entropy(secret) < r.minEntropy) continue;
      const line = lineOf(m.index);
      if (seen.has(line)) continue;
      // A file with thousands of copies of one secret reports the first hundred.
      if (seen.size >= MAX_PER_RULE) break;
      seen.add(line);
      out.push({ rule: r.id, title: r.title, severity: r.severity, line, match: mask(secret) });
    }
  }
  return out;
}
