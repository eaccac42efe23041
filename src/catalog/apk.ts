import { PackageURL } from 'packageurl-js';
import { CustomsError } from '../errors.js';
import { splitLicenses } from './license.js';
import { withLayers } from './layers.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

const DB = 'lib/apk/db/installed';

export interface ApkRecord {
  name: string;
  version: string;
  arch?: string;
  license?: string;
  origin?: string;
  maintainer?: string;
  description?: string;
  size?: number;
  installedSize?: number;
  checksum?: string;
  commit?: string;
  depends: string[];
  provides: string[];
  files: string[];
}

/**
 * Parse `lib/apk/db/installed`: one blank-line separated record per package, one `K:value` per
 * line. Damaged lines and records go to `problems` and are skipped; the rest is kept.
 */
export function parseApkDb(text: string, problems: string[] = []): ApkRecord[] {
  const out: ApkRecord[] = [];
  let cur: Partial<ApkRecord> & { files: string[]; depends: string[]; provides: string[] } = {
    files: [],
    depends: [],
    provides: [],
  };
  let dir = '';
  let lineNo = 0;
  const flush = () => {
    if (cur.name || cur.version) {
      if (!cur.name || !cur.version)
        problems.push(`record ending at line ${lineNo} has no ${cur.name ? 'V:' : 'P:'} field; skipped`);
      else out.push(cur as ApkRecord);
    }
    cur = { files: [], depends: [], provides: [] };
    dir = '';
  };
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') {
      problems.push(`line ${lineNo} is not a "K:value" field`);
      continue;
    }
    const k = line[0];
    const v = line.slice(2);
    switch (k) {
      case 'P':
        cur.name = v;
        break;
      case 'V':
        cur.version = v;
        break;
      case 'A':
        cur.arch = v;
        break;
      case 'L':
        cur.license = v;
        break;
      case 'o':
        cur.origin = v;
        break;
      case 'm':
        cur.maintainer = v;
        break;
      case 'T':
        cur.description = v;
        break;
      case 'S':
        cur.size = Number(v);
        break;
      case 'I':
        cur.installedSize = Number(v);
        break;
      case 'C':
        cur.checksum = v;
        break;
      case 'c':
        cur.commit = v;
        break;
      case 'D':
        cur.depends = v.split(/\s+/).filter(Boolean);
        break;
      case 'p':
        cur.provides = v.split(/\s+/).filter(Boolean);
        break;
      case 'F':
        dir = v;
        break;
      case 'R':
        cur.files.push(dir ? `${dir}/${v}` : v);
        break;
      default:
        break;
    }
  }
  flush();
  if (out.length === 0 && text.trim() !== '')
    throw new CustomsError('corrupt apk database: no readable package record');
  return out;
}

export const apkCataloger: Cataloger = {
  name: 'apk',
  wants: (path) => path === DB,
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    if (!ctx.fs.exists(DB)) return [];
    const distroNs = ctx.os?.id ?? 'alpine';
    const problems: string[] = [];
    let first = true;
    const found = await withLayers(
      ctx.fs,
      DB,
      (b) => {
        const recs = parseApkDb(b.toString('utf8'), first ? problems : []);
        first = false;
        return recs;
      },
      (r) => `${r.name}@${r.version}`,
    );
    if (problems.length) {
      ctx.warnings.push(
        `/${DB} is damaged: ${problems.length} problem(s), e.g. ${problems.slice(0, 3).join('; ')}`,
      );
    }
    return found.map(({ item: r, layer }) => ({
      name: r.name,
      version: r.version,
      type: 'apk',
      arch: r.arch,
      source: { name: r.origin ?? r.name, version: r.version },
      licenses: splitLicenses(r.license, true),
      purl: new PackageURL(
        'apk',
        distroNs,
        r.name,
        r.version,
        {
          ...(r.arch ? { arch: r.arch } : {}),
          ...(ctx.os ? { distro: ctx.os.version } : {}),
          // The origin (source) package, which Alpine's advisories name, when it differs.
          ...(r.origin && r.origin !== r.name ? { upstream: r.origin } : {}),
        },
        undefined,
      ).toString(),
      maintainer: r.maintainer,
      size: r.installedSize,
      description: r.description,
      foundBy: 'apk',
      locations: [{ path: `/${DB}`, layer }],
      layer,
      files: r.files,
    }));
  },
};
