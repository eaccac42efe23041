import { PackageURL } from 'packageurl-js';
import { firstBytes, isExecutable, type ProbeFactory } from '../image/probe.js';
import { probeCataloger } from './files.js';
import { goSymbolsProbe, symbolsByModule, type GoSymbolTable } from './go-symbols.js';
import type { Package } from './model.js';

/*
 * Go binaries carry their build info (Go version, main module, every dependency) in the
 * `.go.buildinfo` section, which starts with the magic "\xff Go buildinf:". Since Go 1.18 the two
 * strings follow the 32-byte header inline as varint-prefixed strings; older binaries point to
 * them instead and are reported with their format only. Written by hand: nothing in JavaScript
 * reads it, and reading the section as the bytes stream past avoids keeping whole binaries.
 */
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const MAX_INFO = 1024 * 1024;

export interface GoBuildInfo {
  goVersion?: string;
  path?: string;
  main?: { path: string; version: string };
  deps: Array<{ path: string; version: string; replacedBy?: { path: string; version: string } }>;
  settings: Record<string, string>;
  /** Set when the format is the pre-1.18 pointer form, which this reader does not follow. */
  legacyFormat?: boolean;
}

function readVarint(buf: Buffer, off: number): [number, number] | undefined {
  let v = 0;
  let shift = 0;
  for (let i = off; i < buf.length && i < off + 10; i++) {
    v += (buf[i] & 0x7f) * 2 ** shift;
    if ((buf[i] & 0x80) === 0) return [v, i + 1];
    shift += 7;
  }
  return undefined;
}

/** Parse the bytes that start at the magic. */
export function parseBuildInfo(blob: Buffer): GoBuildInfo | undefined {
  if (blob.length < 32 || !blob.subarray(0, 14).equals(MAGIC)) return undefined;
  const flags = blob[15];
  if ((flags & 0x2) === 0) return { deps: [], settings: {}, legacyFormat: true };
  const strings: string[] = [];
  let off = 32;
  for (let i = 0; i < 2; i++) {
    const r = readVarint(blob, off);
    if (!r || r[1] + r[0] > blob.length) return undefined;
    strings.push(blob.toString('utf8', r[1], r[1] + r[0]));
    off = r[1] + r[0];
  }
  const [goVersion, rawMod] = strings;
  // modinfo is wrapped in 16-byte sentinels.
  const mod = rawMod.length >= 33 && rawMod[rawMod.length - 17] === '\n' ? rawMod.slice(16, -16) : rawMod;
  const info: GoBuildInfo = { goVersion: goVersion || undefined, deps: [], settings: {} };
  for (const line of mod.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'path') info.path = f[1];
    else if (f[0] === 'mod' && f[1]) info.main = { path: f[1], version: f[2] ?? '' };
    else if (f[0] === 'dep' && f[1]) info.deps.push({ path: f[1], version: f[2] ?? '' });
    else if (f[0] === '=>' && info.deps.length && f[1])
      info.deps[info.deps.length - 1].replacedBy = { path: f[1], version: f[2] ?? '' };
    else if (f[0] === 'build' && f[1]) {
      const eq = f[1].indexOf('=');
      if (eq > 0) info.settings[f[1].slice(0, eq)] = f[1].slice(eq + 1);
    }
  }
  return info;
}

/** Watch the stream of an executable for the build info magic and keep what follows it. */
export const goBuildInfoProbe: ProbeFactory = {
  name: 'go-buildinfo',
  // Executables (any x bit) of a size a Go program can have; the content decides.
  wants: (_path, mode, size) => (mode & 0o111) !== 0 && size > 64 * 1024,
  create() {
    let head: Buffer | undefined;
    let tail: Buffer = Buffer.alloc(0);
    let found: Buffer[] | undefined;
    let foundLen = 0;
    const gate = firstBytes(4);
    return {
      push(data: Buffer) {
        const chunk = gate(data);
        if (!chunk) return;
        if (!head) {
          head = chunk.subarray(0, 4);
          if (!isExecutable(head)) {
            found = []; // not a binary format Go writes: stop looking
            return;
          }
        }
        if (found) {
          if (foundLen < MAX_INFO && found.length) {
            found.push(chunk);
            foundLen += chunk.length;
          }
          return;
        }
        const window = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        const at = window.indexOf(MAGIC);
        if (at >= 0) {
          found = [window.subarray(at)];
          foundLen = window.length - at;
        } else tail = window.subarray(Math.max(0, window.length - MAGIC.length + 1));
      },
      // Not a binary format Go writes, or the build info is in hand.
      done: () => found !== undefined && (found.length === 0 || foundLen >= MAX_INFO),
      finish() {
        return found?.length ? parseBuildInfo(Buffer.concat(found).subarray(0, MAX_INFO)) : undefined;
      },
    };
  },
};

export function goPurl(path: string, version: string): string {
  const i = path.lastIndexOf('/');
  return new PackageURL(
    'golang',
    i > 0 ? path.slice(0, i) : undefined,
    i > 0 ? path.slice(i + 1) : path,
    version || undefined,
    undefined,
    undefined,
  ).toString();
}

export const goBinaryCataloger = probeCataloger<GoBuildInfo>({
  name: 'go-binary',
  probe: goBuildInfoProbe,
  also: [goSymbolsProbe],
  packages(info, where, ctx, probes) {
    if (info.legacyFormat) {
      ctx.warnings.push(
        `${where.path}: a Go binary in the pre-1.18 build info format; its modules were not read`,
      );
      return [];
    }
    const out: Package[] = [];
    // The functions in the binary, by owning module: what reachability checks advisories against.
    const table = probes[goSymbolsProbe.name] as GoSymbolTable | undefined;
    const modules = [info.main?.path, ...info.deps.map((d) => d.path)].filter((m): m is string => !!m);
    const symbols = table ? symbolsByModule(table, modules) : undefined;
    const add = (name: string, version: string, description?: string, owner = name) =>
      out.push({
        name,
        version,
        type: 'golang',
        purl: goPurl(name, version),
        description,
        licenses: [],
        foundBy: 'go-binary',
        locations: [where],
        layer: where.layer,
        ...(symbols ? { symbols: symbols.get(owner) ?? [] } : {}),
      });
    if (info.goVersion) {
      // The standard library as Go's advisories name it: stdlib at the toolchain version.
      const v = goToolchainSemver(info.goVersion);
      if (v) add('stdlib', v, `Go standard library (${info.goVersion})`);
    }
    if (info.main?.path && info.main.version && info.main.version !== '(devel)')
      add(info.main.path, info.main.version);
    for (const d of info.deps) {
      const eff = d.replacedBy && d.replacedBy.version ? d.replacedBy : d;
      // A replacement's code is compiled under the import path it replaces.
      if (eff.version) add(eff.path, eff.version, undefined, d.path);
    }
    return out;
  },
});

/**
 * A Go toolchain version as Go's advisories write stdlib versions: go1.21 → v1.21.0,
 * go1.21rc2 → v1.21.0-rc.2 (so a release candidate sorts below the release), go1.20.3 → v1.20.3.
 */
export function goToolchainSemver(goVersion: string): string | undefined {
  const m = /^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?(?:[ +-].*)?$/.exec(goVersion.trim());
  if (!m) return undefined;
  return `v${m[1]}.${m[2]}.${m[3] ?? 0}${m[4] ? `-${m[4]}.${m[5]}` : ''}`;
}
