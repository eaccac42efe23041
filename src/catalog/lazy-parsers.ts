import { createRequire } from 'node:module';
import type * as Fxp from 'fast-xml-parser';
import type * as SmolToml from 'smol-toml';

let fxp: typeof Fxp | undefined;

/**
 * fast-xml-parser, loaded on first use from its one-file CommonJS build. Its ES module build is
 * some thirty files, about 40 ms of every start (a warm rescan takes half a second in all), while
 * only source trees (pom.xml, NuGet files) need XML.
 */
export function fastXml(): typeof Fxp {
  return (fxp ??= createRequire(import.meta.url)('fast-xml-parser') as typeof Fxp);
}

let toml: typeof SmolToml | undefined;

/** smol-toml the same way (nine files as ES modules; Cargo.lock and Python TOML lockfiles only). */
export function parseToml(text: string): unknown {
  return (toml ??= createRequire(import.meta.url)('smol-toml') as typeof SmolToml).parse(text);
}
