/**
 * Whether the signature of the installed database still holds. A pulled database records its
 * signed expiry (`local.expires`); once that passes, its repository has served nothing newer for
 * the whole validity the publisher gave it: a frozen mirror, or a publisher that stopped. Said by
 * `db status`, every report's freshness line and the server's `/api/v1/db`. A database built here
 * from the feeds, or imported unsigned, has no expiry.
 */
export interface SignedExpiry {
  expires?: string;
  expired: boolean;
  /** One line for a report or a warning, when expired. */
  notice?: string;
}

export function signedExpiry(meta: (key: string) => string | undefined, now = Date.now()): SignedExpiry {
  const expires = meta('local.expires');
  const t = expires ? Date.parse(expires) : NaN;
  if (!expires || Number.isNaN(t) || t > now) return { expires, expired: false };
  const days = Math.floor((now - t) / 86_400_000);
  const origin = meta('local.origin');
  return {
    expires,
    expired: true,
    notice: `the vulnerability database's signature expired at ${expires}${days ? ` (${days} day${days === 1 ? '' : 's'} ago)` : ''}: its repository${origin ? ` (${origin.replace(/@sha256:.*$/, '')})` : ''} has published nothing newer, frozen or stalled; run "customs db update" against a current mirror`,
  };
}
