import { CustomsError } from '../errors.js';
import type { Db } from './db.js';
import type { SecretBox } from './secret-box.js';

const CHECK = 'secret-key-check';
const CANARY = 'customs secret key check';

const MISMATCH =
  'this process was started with another CUSTOMS_SECRET_KEY than the one the store was set up with: ' +
  'every server replica and worker sharing a store must share the key (set the same CUSTOMS_SECRET_KEY, ' +
  'or the same key file, on each)';

/**
 * Replicas and workers that do not share the secret key must not start: such a process would come
 * up healthy and then fail every alert, registry pull and webhook check for what another process
 * stored. The first process seals a known value; every later one must open it. A store from before
 * this check is adopted by the first process whose key opens what it already holds.
 */
export async function checkSecretKey(db: Db, box: SecretBox): Promise<void> {
  const row = await db.k
    .selectFrom('store_meta')
    .select('value')
    .where('name', '=', CHECK)
    .executeTakeFirst();
  if (row) {
    if (!opens(box, row.value)) throw new CustomsError(MISMATCH);
    return;
  }
  const held =
    (
      await db.k
        .selectFrom('registries')
        .select('secrets as s')
        .where('secrets', 'is not', null)
        .executeTakeFirst()
    )?.s ??
    (
      await db.k
        .selectFrom('channels')
        .select('secret as s')
        .where('secret', 'is not', null)
        .executeTakeFirst()
    )?.s;
  if (held && !opens(box, held)) throw new CustomsError(MISMATCH);
  await db.k
    .insertInto('store_meta')
    .values({ name: CHECK, value: box.seal(CANARY) })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  // Two processes may have raced to seal: whichever won, this one's key must open it.
  const won = await db.k
    .selectFrom('store_meta')
    .select('value')
    .where('name', '=', CHECK)
    .executeTakeFirstOrThrow();
  if (!opens(box, won.value)) throw new CustomsError(MISMATCH);
}

function opens(box: SecretBox, sealed: string): boolean {
  try {
    box.open(sealed);
    return true;
  } catch {
    return false;
  }
}
