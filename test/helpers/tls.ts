import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A self-signed P-256 certificate made by openssl, as an operator makes one for a webhook or a
 * test makes one for a loopback server: `tls.crt` and `tls.key` in `dir`.
 */
export function selfSigned(
  dir: string,
  subject: string,
  altNames: string,
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
    '-addext',
    `subjectAltName=${altNames}`,
  ]);
  return { cert, key };
}
