import { PackageURL } from 'packageurl-js';
import { CustomsError } from '../../errors.js';
import { rpmNamespace } from '../../ecosystems/index.js';
import { splitLicenses } from '../license.js';
import { withLayers } from '../layers.js';
import type { CatalogContext, Cataloger, Package } from '../model.js';
import { bdbBlobs, isBdbHash } from './bdb.js';
import { parseHeader, TAG } from './header.js';
import { isNdb, ndbBlobs } from './ndb.js';
import { isSqlite, sqliteBlobs } from './sqlite.js';

const DIRS = ['var/lib/rpm', 'usr/lib/sysimage/rpm', 'usr/share/rpm'];
const FILES = ['rpmdb.sqlite', 'Packages.db', 'Packages'];
const DB_PATHS = DIRS.flatMap((d) => FILES.map((f) => `${d}/${f}`));

export interface RpmRecord {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch?: string;
  sourceRpm?: string;
  license?: string;
  vendor?: string;
  size?: number;
  summary?: string;
  sigmd5?: string;
  modularityLabel?: string;
  files: string[];
}

/** Header blobs of any of the three rpmdb formats, told apart by content, not by file name. */
export function rpmdbBlobs(buf: Buffer): Buffer[] {
  if (isSqlite(buf)) return sqliteBlobs(buf);
  if (isNdb(buf)) return ndbBlobs(buf);
  if (isBdbHash(buf)) return bdbBlobs(buf);
  throw new CustomsError('not an rpm database (neither SQLite, NDB nor Berkeley DB hash)');
}

export function parseRpmdb(buf: Buffer): RpmRecord[] {
  const out: RpmRecord[] = [];
  for (const blob of rpmdbBlobs(buf)) {
    const h = parseHeader(blob);
    const name = h.string(TAG.NAME);
    const version = h.string(TAG.VERSION);
    const release = h.string(TAG.RELEASE);
    if (!name || version === undefined || release === undefined) {
      throw new CustomsError('corrupt rpm header: no name, version or release');
    }
    const dirs = h.strings(TAG.DIRNAMES);
    const idx = h.numbers(TAG.DIRINDEXES);
    const files = h.strings(TAG.BASENAMES).map((b, i) => `${dirs[idx[i]] ?? ''}${b}`);
    out.push({
      name,
      epoch: h.number(TAG.EPOCH),
      version,
      release,
      arch: h.string(TAG.ARCH),
      sourceRpm: orNone(h.string(TAG.SOURCERPM)),
      license: h.string(TAG.LICENSE),
      vendor: h.string(TAG.VENDOR),
      size: h.number(TAG.SIZE),
      summary: h.string(TAG.SUMMARY),
      sigmd5: h.hex(TAG.SIGMD5),
      modularityLabel: h.string(TAG.MODULARITYLABEL),
      files,
    });
  }
  return out;
}

/** `util-linux-2.32.1-42.el8_8.src.rpm` → util-linux, 2.32.1, 42.el8_8 */
export function parseSourceRpm(srpm: string): { name: string; version: string; release: string } | undefined {
  const m = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(srpm);
  return m ? { name: m[1], version: m[2], release: m[3] } : undefined;
}

export function evr(r: { epoch?: number; version: string; release: string }): string {
  return `${r.epoch ? `${r.epoch}:` : ''}${r.version}-${r.release}`;
}

export const rpmCataloger: Cataloger = {
  name: 'rpm',
  wants: (path) => DB_PATHS.includes(path),
  database: true,
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    // /var/lib/rpm is often a symlink to /usr/lib/sysimage/rpm: read each real database once.
    const seen = new Set<string>();
    const out: Package[] = [];
    // The purl namespace per distro record (rhel → redhat, sles → suse); without an OS, redhat.
    const ns = ctx.os ? rpmNamespace(ctx.os.id) : 'redhat';
    for (const path of DB_PATHS) {
      const st = ctx.fs.stat(path);
      if (!st || st.entry.type === 'dir' || seen.has(st.path)) continue;
      seen.add(st.path);
      // Packages left beside a newer backend after a conversion are stale; the newest format wins.
      if (path.endsWith('/Packages') && out.length) continue;
      const found = await withLayers(ctx.fs, path, parseRpmdb, (r) => `${r.name}-${evr(r)}.${r.arch}`);
      for (const { item: r, layer } of found) {
        if (r.name === 'gpg-pubkey') continue; // imported signing keys, not software
        const src = r.sourceRpm ? parseSourceRpm(r.sourceRpm) : undefined;
        const qualifiers: Record<string, string> = {
          ...(r.arch ? { arch: r.arch } : {}),
          ...(r.epoch ? { epoch: String(r.epoch) } : {}),
          ...(ctx.os ? { distro: `${ctx.os.id}-${ctx.os.version}` } : {}),
          ...(r.sourceRpm ? { upstream: r.sourceRpm } : {}),
        };
        out.push({
          name: r.name,
          version: evr(r),
          epoch: r.epoch,
          release: r.release,
          type: 'rpm',
          arch: r.arch,
          source: src
            ? { name: src.name, version: evr({ epoch: r.epoch, version: src.version, release: src.release }) }
            : undefined,
          licenses: splitLicenses(r.license),
          purl: new PackageURL(
            'rpm',
            ns,
            r.name,
            `${r.version}-${r.release}`,
            qualifiers,
            undefined,
          ).toString(),
          vendor: r.vendor,
          size: r.size,
          description: r.summary,
          foundBy: 'rpm',
          locations: [{ path: `/${st.path}`, layer }],
          layer,
          files: r.files,
        });
      }
    }
    return out;
  },
};

/** rpm writes "(none)" for some absent values (gpg-pubkey's source rpm). */
function orNone(v: string | undefined): string | undefined {
  return v === '(none)' ? undefined : v;
}
