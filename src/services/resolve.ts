import { RegistryClient } from '../image/registry/client.js';
import { parseReference } from '../image/registry/reference.js';
import type { Db } from '../store/db.js';
import { registryOptions } from '../store/registries.js';
import type { SecretBox } from '../store/secret-box.js';
import { DomainError } from './errors.js';

/** An image named by digest, or by tag resolved through its configured registry. */
export async function resolveImage(
  db: Db,
  box: SecretBox,
  image: string,
): Promise<{ digest: string; repository: string }> {
  let ref;
  try {
    ref = parseReference(image);
  } catch (err) {
    throw new DomainError('invalid', (err as Error).message);
  }
  const repository = `${ref.domain}/${ref.repository}`;
  if (ref.digest) return { digest: ref.digest, repository };
  const opts = await registryOptions(db, box, ref.domain);
  if (!opts)
    throw new DomainError(
      'invalid',
      `name the image by digest: registry ${ref.domain} is not configured here`,
    );
  const client = new RegistryClient(ref.domain, opts);
  try {
    return { digest: (await client.manifest(ref.repository, ref.tag ?? 'latest')).digest, repository };
  } catch (err) {
    throw new DomainError('invalid', `cannot resolve ${image}: ${(err as Error).message}`);
  } finally {
    await client.close();
  }
}
