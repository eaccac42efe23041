import type { Ecosystem } from './model.js';

export const cratesIo: Ecosystem = {
  osv: 'crates.io',
  purlType: 'cargo',
  scheme: 'semver',
  // crates.io treats - and _ alike, and case-insensitively.
  normalizeName: (name) => name.toLowerCase().replace(/_/g, '-'),
  staticallyLinked: true,
  osvFeed: true,
  catalogers: ['rust-binary', 'cargo-lock'],
};
