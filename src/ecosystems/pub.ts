import type { Ecosystem } from './model.js';

/** Dart/Flutter: matched (SBOM input), but no cataloger reads pubspec.lock yet. */
export const pub: Ecosystem = {
  osv: 'Pub',
  purlType: 'pub',
  scheme: 'semver',
  osvFeed: true,
  catalogers: [],
};
