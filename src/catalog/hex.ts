import { PackageURL } from 'packageurl-js';
import { hex } from '../ecosystems/hex.js';
import { lockfileCataloger, type Pinned } from './files.js';

/**
 * Erlang/Elixir: mix.lock in source trees, an Elixir map literal of `"app": {:hex, :package,
 * "version", …}` tuples. Only `:hex` entries name a published version (`:git` and `:path`
 * dependencies do not); the package atom is the name on hex.pm, which advisories use.
 */
const HEX_ENTRY = /"[^"\n]+"\s*:\s*\{\s*:hex\s*,\s*:"?([A-Za-z0-9_.-]+)"?\s*,\s*"([^"\n]+)"/g;

export function parseMixLock(text: string): Pinned[] {
  if (!/^\s*%\{/.test(text)) throw new Error('not an Elixir map (%{…})');
  const out = new Map<string, Pinned>();
  for (const m of text.matchAll(HEX_ENTRY)) out.set(`${m[1]}@${m[2]}`, { name: m[1], version: m[2] });
  return [...out.values()];
}

export const mixLockCataloger = lockfileCataloger({
  name: 'mix-lock',
  type: hex.purlType!,
  wants: (p) => /(^|\/)mix\.lock$/.test(p),
  parse: (content) => parseMixLock(content.toString('utf8')),
  purl: (name, version) =>
    new PackageURL(hex.purlType!, undefined, name, version, undefined, undefined).toString(),
  // One line per dependency: a large umbrella project's is some hundred KiB.
  maxBytes: 16 * 1024 * 1024,
});
