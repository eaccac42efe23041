import type { Ecosystem } from './model.js';

/** Dart/Flutter: pubspec.lock in source trees (catalog/pub.ts). */
export const pub: Ecosystem = {
  osv: 'Pub',
  purlType: 'pub',
  scheme: 'semver',
  osvFeed: true,
  catalogers: ['pubspec-lock'],
};
