/**
 * How official images ship their main component: a binary outside any package manager. Each
 * classifier names the files it looks at (by base name) and a pattern on the bytes (read as
 * latin1) whose first group is the version. Adding a component is one entry here. Digit runs are
 * bounded (`\d{1,6}`, and no digit right after the version): a crafted binary's 60,000-digit
 * "version" is not one, and must not become a package or be matched.
 */
export interface BinaryClassifier {
  /** Package name, as `pkg:generic/NAME` and in reports. */
  name: string;
  /** Base names (or a path tail) of files worth reading. */
  file: RegExp;
  /** First group: the version. */
  pattern: RegExp;
  /** Version clean-up, e.g. dropping a patch-level suffix. */
  version?: (raw: string, path: string) => string | undefined;
}

/* eslint-disable no-control-regex -- version strings in binaries are NUL-terminated */

/** `python3.11` → only a 3.11.x version string counts. */
function pythonVersion(raw: string, path: string): string | undefined {
  const minor = /python(\d+\.\d+)/.exec(path)?.[1];
  return !minor || raw.startsWith(`${minor}.`) ? raw : undefined;
}

export const CLASSIFIERS: BinaryClassifier[] = [
  {
    name: 'node',
    file: /(^|\/)(node|nodejs|libnode\.so(\.\d+)*)$/,
    pattern: /node\.js\/v(\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/,
  },
  {
    name: 'python',
    file: /(^|\/)(python\d\.\d+|libpython\d\.\d+m?\.so(\.[\d.]+)?)$/,
    // The version is a NUL-terminated string of its own in the interpreter's read-only data.
    pattern: /\x00(\d\.\d{1,6}\.\d{1,6}(?:(?:a|b|rc)\d{1,6})?)\x00/,
    version: pythonVersion,
  },
  {
    name: 'redis',
    file: /(^|\/)redis-(server|check-rdb|check-aof|sentinel)$/,
    // REDIS_VERSION sits beside the atomic-variable API name the build chose.
    pattern:
      /\x00(\d{1,6}\.\d{1,6}\.\d{1,6})\x00(?:[\w-]+\x00)?(?:c11-builtin|sync-builtin|pthread-mutex)\x00/,
  },
  { name: 'nginx', file: /(^|\/)nginx$/, pattern: /nginx\/(\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/ },
  { name: 'httpd', file: /(^|\/)(httpd|apache2)$/, pattern: /Apache\/(\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/ },
  {
    name: 'php',
    file: /(^|\/)(php(\d(\.\d)?)?|php-fpm(\d(\.\d)?)?|php-cgi(\d(\.\d)?)?|libphp\d?\.so)$/,
    pattern: /X-Powered-By: PHP\/(\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/,
  },
  {
    name: 'ruby',
    file: /(^|\/)(ruby(\d\.\d)?|libruby(-\d\.\d)?\.so(\.[\d.]+)?)$/,
    pattern: /ruby (\d{1,6}\.\d{1,6}\.\d{1,6})(?:p\d{1,6})? \(\d{4}-\d\d-\d\d/,
  },
  {
    name: 'openssl',
    file: /(^|\/)(openssl|libcrypto\.so(\.[\d.]+)?|libssl\.so(\.[\d.]+)?)$/,
    pattern: /OpenSSL (\d{1,6}\.\d{1,6}\.\d{1,6}[a-z]?) +\d{1,2} [A-Z][a-z]{2} \d{4}/,
  },
  {
    name: 'curl',
    file: /(^|\/)(curl|libcurl\.so(\.[\d.]+)?)$/,
    pattern: /(?:curl |libcurl\/)(\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/,
  },
  { name: 'busybox', file: /(^|\/)busybox$/, pattern: /BusyBox v(\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/ },
  {
    name: 'postgresql',
    file: /(^|\/)(postgres|postmaster)$/,
    pattern: /\(PostgreSQL\) (\d{1,6}(?:\.\d{1,6}){1,2})(?!\d)/,
  },
  { name: 'haproxy', file: /(^|\/)haproxy$/, pattern: /HAProxy version (\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/ },
  { name: 'memcached', file: /(^|\/)memcached$/, pattern: /memcached (\d{1,6}\.\d{1,6}\.\d{1,6})(?!\d)/ },
  {
    // A JDK's or JRE's `release` file, which official OpenJDK images keep in their java home.
    name: 'openjdk',
    file: /(^|\/)(jdk|jre|openjdk|java)[^/]*\/release$/,
    pattern: /JAVA_VERSION="(\d{1,6}(?:\.\d{1,6}){0,4}(?:[_+]\d{1,6})?)"/,
  },
];
