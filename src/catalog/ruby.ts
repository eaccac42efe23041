import { PackageURL } from 'packageurl-js';
import { lockfileCataloger, type Pinned } from './files.js';

/**
 * Ruby gems: installed gems from their specification files (`specifications/NAME-VERSION.gemspec`,
 * written by rubygems as plain Ruby), and Bundler's Gemfile.lock in source trees. The gemspec is
 * Ruby code; only the literal assignments rubygems writes are read, never evaluated.
 */

export function gemPurl(name: string, version: string): string {
  return new PackageURL('gem', undefined, name, version, undefined, undefined).toString();
}

const STRING = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g;
const strings = (text: string) => [...text.matchAll(STRING)].map((m) => m[1] ?? m[2]);

export function parseGemspec(text: string): Pinned {
  const block = /Gem::Specification\.new\s+do\s*\|\s*(\w+)\s*\|/.exec(text);
  if (!block) throw new Error('no Gem::Specification.new block');
  const v = block[1];
  const attr = (name: string) =>
    new RegExp(`^\\s*${v}\\.${name}\\s*=\\s*(.+)$`, 'm').exec(text.slice(block.index))?.[1];
  const name = strings(attr('name') ?? '')[0];
  // `s.version = "1.2.3"` or `Gem::Version.new("1.2.3")`.
  const version = strings(attr('version') ?? '')[0];
  if (!name || !version) throw new Error(`the gemspec names no ${name ? 'version' : 'name'}`);
  const lic = attr('licenses') ?? attr('license');
  return { name, version, licenses: lic ? strings(lic) : [] };
}

/**
 * Gemfile.lock: each `specs:` list (GEM, GIT, PATH sections) holds `    name (version)` at four
 * spaces; six spaces are that gem's own requirements. A platform suffix (`1.13.6-x86_64-linux`)
 * is not part of the version.
 */
export function parseGemfileLock(text: string): Pinned[] {
  const out = new Map<string, Pinned>();
  let inSpecs = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\S/.test(line)) {
      inSpecs = false;
      continue;
    }
    if (/^ {2}specs:\s*$/.test(line)) {
      inSpecs = true;
      continue;
    }
    if (!inSpecs) continue;
    const m = /^ {4}([^\s(]+) \(([^)]+)\)\s*$/.exec(line);
    if (!m) continue;
    const version = m[2].replace(/-(x86|x64|arm|aarch|universal|java|mingw|mswin|darwin|linux)[\w-]*$/, '');
    out.set(`${m[1]}@${version}`, { name: m[1], version });
  }
  return [...out.values()];
}

export const gemspecCataloger = lockfileCataloger({
  name: 'gemspec',
  type: 'gem',
  wants: (p) => /(^|\/)specifications\/[^/]+\.gemspec$/.test(p),
  parse: (content) => [parseGemspec(content.toString('utf8'))],
  purl: gemPurl,
});

export const gemfileLockCataloger = lockfileCataloger({
  name: 'gemfile-lock',
  type: 'gem',
  wants: (p) => /(^|\/)(Gemfile|gems)\.lock$/.test(p),
  parse: (content) => parseGemfileLock(content.toString('utf8')),
  purl: gemPurl,
});
