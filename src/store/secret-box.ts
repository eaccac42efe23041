import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CustomsError } from '../errors.js';

/**
 * Registry credentials and webhook secrets are sealed with AES-256-GCM before they are stored.
 * The key comes from CUSTOMS_SECRET_KEY (base64, 32 bytes), a key file, or is made once in the
 * data folder (mode 0600). Workers on other hosts need the same key (env or file).
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromEnvOrFile(file: string): SecretBox {
    const env = process.env.CUSTOMS_SECRET_KEY;
    if (env) return new SecretBox(SecretBox.check(Buffer.from(env, 'base64'), 'CUSTOMS_SECRET_KEY'));
    if (existsSync(file)) {
      try {
        chmodSync(file, 0o600); // one made by hand (or by an older version) is tightened
      } catch {
        /* not ours: read it as it is */
      }
      return new SecretBox(SecretBox.check(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'), file));
    }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return new SecretBox(key);
  }

  private static check(key: Buffer, where: string): Buffer {
    if (key.length !== 32) throw new CustomsError('the secret key must be 32 bytes, base64-encoded', where);
    return key;
  }

  seal(value: unknown): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final()]);
    return `v1.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
  }

  open<T>(sealed: string): T {
    const raw = Buffer.from(sealed.replace(/^v1\./, ''), 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(12, 28));
      return JSON.parse(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')) as T;
    } catch {
      throw new CustomsError(
        'stored registry secrets cannot be opened with this secret key (was the key changed?)',
      );
    }
  }
}
