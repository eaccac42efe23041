import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A self-signed P-256 certificate made by openssl, as an operator makes one for a webhook or a
 * test makes one for a loopback server (or a CA): `<name>.crt` and `<name>.key` in `dir`, each
 * of `extensions` added as `-addext` (e.g. `subjectAltName=IP:127.0.0.1`).
 */
export function selfSigned(
  dir: string,
  subject: string,
  extensions: string[],
  days = 1,
  name = 'tls',
): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    String(days),
    '-subj',
    subject,
    ...extensions.flatMap((e) => ['-addext', e]),
  ]);
  return { cert, key };
}
