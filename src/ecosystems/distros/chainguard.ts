import type { Distro, DistroFeed } from '../model.js';

/**
 * Rolling distributions: one advisory set, no releases. Advisories name the origin package
 * (openssl), so its subpackages (libssl3, libcrypto3) are matched through their origin.
 */
const rolling = (ecosystem: string): DistroFeed => ({
  ecosystem,
  releaseMatches: () => true,
  key: 'source',
  version: 'own',
  osv: true,
  importers: ['osv'],
});

export const wolfi: Distro = { id: 'wolfi', packageType: 'apk', feed: rolling('Wolfi') };
export const chainguard: Distro = { id: 'chainguard', packageType: 'apk', feed: rolling('Chainguard') };
