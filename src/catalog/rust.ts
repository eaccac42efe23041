import { PackageURL } from 'packageurl-js';
import { parseToml } from './lazy-parsers.js';
import { lockfileCataloger, type Pinned } from './files.js';

/** Rust: Cargo.lock in source trees (every `[[package]]`, local path crates included, as cargo lists them). */

export function cargoPurl(name: string, version: string): string {
  return new PackageURL('cargo', undefined, name, version, undefined, undefined).toString();
}

export function parseCargoLock(text: string): Pinned[] {
  const doc = parseToml(text) as { package?: Array<{ name?: unknown; version?: unknown }> };
  const out = new Map<string, Pinned>();
  for (const p of doc.package ?? []) {
    if (typeof p.name !== 'string' || typeof p.version !== 'string') continue;
    out.set(`${p.name}@${p.version}`, { name: p.name, version: p.version });
  }
  return [...out.values()];
}

export const cargoLockCataloger = lockfileCataloger({
  name: 'cargo-lock',
  type: 'cargo',
  wants: (p) => /(^|\/)Cargo\.lock$/.test(p),
  parse: (content) => parseCargoLock(content.toString('utf8')),
  purl: cargoPurl,
});
