import type { Ecosystem } from './model.js';

/** Erlang/Elixir: matched (SBOM input, `customs sbom`), but no cataloger reads mix.lock yet. */
export const hex: Ecosystem = {
  osv: 'Hex',
  purlType: 'hex',
  scheme: 'semver',
  osvFeed: true,
  catalogers: [],
};
