import type { Ecosystem } from './model.js';

/** Erlang/Elixir: mix.lock in source trees (catalog/hex.ts). */
export const hex: Ecosystem = {
  osv: 'Hex',
  purlType: 'hex',
  scheme: 'semver',
  osvFeed: true,
  catalogers: ['mix-lock'],
};
