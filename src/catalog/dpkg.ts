import { PackageURL } from 'packageurl-js';
import { CustomsError } from '../errors.js';
import { withLayers } from './layers.js';
import type { CatalogContext, Cataloger, Package } from './model.js';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d/';
const INFO = 'var/lib/dpkg/info/';
const DOC = 'usr/share/doc/';
/** status.d holds one status file per package (distroless) beside its maintainer files. */
const NOT_STATUS =
  /\.(md5sums|preinst|postinst|prerm|postrm|conffiles|list|shlibs|triggers|symbols|templates|config)$/;

export interface DpkgRecord {
  name: string;
  version: string;
  arch?: string;
  sourceName?: string;
  sourceVersion?: string;
  maintainer?: string;
  installedSize?: number;
  description?: string;
  status?: string;
  depends?: string;
}

/**
 * Parse deb822 paragraphs (dpkg status, status.d files): `Field: value`, continuation lines
 * indented. Damaged lines are reported in `problems` and skipped, so one bad record does not
 * hide the rest of the database.
 */
export function parseDeb822(text: string, problems: string[] = []): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  let cur: Record<string, string> = {};
  let last = '';
  let lineNo = 0;
  for (const line of text.split(/\r?\n/)) {
    lineNo++;
    if (line.trim() === '') {
      if (Object.keys(cur).length) out.push(cur);
      cur = {};
      last = '';
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (last) cur[last] += '\n' + line.trim();
      else problems.push(`line ${lineNo}: continuation line outside any field`);
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) {
      problems.push(`line ${lineNo}: not a "Field: value" line`);
      continue;
    }
    last = line.slice(0, i);
    cur[last] = line.slice(i + 1).trim();
  }
  if (Object.keys(cur).length) out.push(cur);
  return out;
}

/** dpkg's version syntax: [epoch:]upstream[-revision], upstream starting with a digit. */
const DPKG_VERSION = /^(?:\d+:)?\d[A-Za-z0-9.+~:-]*$/;

/** Installed packages of a status file; status.d files (distroless) have no Status field. */
export function parseDpkgStatus(text: string, requireStatus = true, problems: string[] = []): DpkgRecord[] {
  const out: DpkgRecord[] = [];
  const paragraphs = parseDeb822(text, problems);
  for (const p of paragraphs) {
    if (!p.Package) {
      problems.push(`a record without a Package field was skipped`);
      continue;
    }
    const status = p.Status;
    if (requireStatus || status) {
      // "want flag state": only packages whose state is installed (not config-files, half-installed…)
      if (!status || status.split(/\s+/)[2] !== 'installed') continue;
    }
    if (!p.Version || !DPKG_VERSION.test(p.Version)) {
      problems.push(
        `package ${p.Package}: ${p.Version ? `invalid version "${p.Version}"` : 'no Version'}; skipped`,
      );
      continue;
    }
    const src = /^(\S+)(?:\s+\((.+)\))?$/.exec(p.Source ?? '');
    out.push({
      name: p.Package,
      version: p.Version,
      arch: p.Architecture,
      sourceName: src?.[1] ?? p.Package,
      sourceVersion: src?.[2] ?? p.Version,
      maintainer: p.Maintainer,
      installedSize: p['Installed-Size'] ? Number(p['Installed-Size']) * 1024 : undefined,
      description: p.Description?.split('\n')[0],
      status,
      depends: p.Depends,
    });
  }
  if (out.length === 0 && paragraphs.length === 0 && text.trim() !== '') {
    throw new CustomsError('corrupt dpkg database: no readable package record');
  }
  return out;
}

/** Licence names from a debian/copyright file: machine-readable `License:` fields and common-licenses references. */
export function parseCopyright(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/^License:[ \t]*(\S[^\n]*)$/gm)) {
    for (const part of m[1].split(/\s+(?:or|and)\s+|,\s*/i)) {
      const v = part.trim().replace(/[.,;]+$/, '');
      if (v && v.length < 80 && v.toLowerCase() !== 'none') found.add(v);
    }
  }
  for (const m of text.matchAll(/\/usr\/share\/common-licenses\/([A-Za-z0-9][A-Za-z0-9.+_-]*)/g)) {
    found.add(m[1].replace(/\.+$/, ''));
  }
  return [...found].sort();
}

function distroQualifier(ctx: CatalogContext): Record<string, string> {
  if (!ctx.os) return {};
  const major = ctx.os.id === 'ubuntu' ? ctx.os.version : ctx.os.version.split('.')[0];
  return { distro: `${ctx.os.id}-${major}` };
}

export const dpkgCataloger: Cataloger = {
  name: 'dpkg',
  wants: (path) =>
    path === STATUS ||
    (path.startsWith(STATUS_D) && !NOT_STATUS.test(path) && !path.slice(STATUS_D.length).includes('/')) ||
    (path.startsWith(INFO) && path.endsWith('.list')) ||
    (path.startsWith(DOC) && path.endsWith('/copyright') && path.split('/').length === 5),
  async catalog(ctx: CatalogContext): Promise<Package[]> {
    const dbs: Array<{ path: string; requireStatus: boolean }> = [];
    if (ctx.fs.exists(STATUS)) dbs.push({ path: STATUS, requireStatus: true });
    for (const name of ctx.fs.list(STATUS_D)) {
      if (!NOT_STATUS.test(name)) dbs.push({ path: STATUS_D + name, requireStatus: false });
    }
    const ns = ctx.os?.id ?? 'debian';
    const out: Package[] = [];
    const seen = new Set<string>();
    for (const db of dbs) {
      let found;
      const problems: string[] = [];
      let first = true;
      try {
        found = await withLayers(
          ctx.fs,
          db.path,
          (b) => {
            // Report damage in the image's own (newest) copy only.
            const p = parseDpkgStatus(b.toString('utf8'), db.requireStatus, first ? problems : []);
            first = false;
            return p;
          },
          (r) => `${r.name}:${r.arch}@${r.version}`,
        );
      } catch (err) {
        if (db.path === STATUS) throw err;
        ctx.warnings.push(`/${db.path}: ${(err as Error).message}`);
        continue;
      }
      if (problems.length) {
        ctx.warnings.push(
          `/${db.path} is damaged: ${problems.length} problem(s), e.g. ${problems.slice(0, 3).join('; ')}`,
        );
      }
      for (const { item: r, layer } of found) {
        const key = `${r.name}:${r.arch}@${r.version}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const copyright = await ctx.fs.readFile(`${DOC}${r.name}/copyright`);
        const list =
          (await ctx.fs.readFile(`${INFO}${r.name}${r.arch && r.arch !== 'all' ? `:${r.arch}` : ''}.list`)) ??
          (await ctx.fs.readFile(`${INFO}${r.name}.list`));
        const qualifiers: Record<string, string> = {
          ...(r.arch ? { arch: r.arch } : {}),
          ...distroQualifier(ctx),
          ...(r.sourceName && r.sourceName !== r.name ? { upstream: r.sourceName } : {}),
        };
        out.push({
          name: r.name,
          version: r.version,
          type: 'deb',
          arch: r.arch,
          source: { name: r.sourceName ?? r.name, version: r.sourceVersion },
          licenses: copyright ? parseCopyright(copyright.toString('utf8')) : [],
          purl: new PackageURL('deb', ns, r.name, r.version, qualifiers, undefined).toString(),
          maintainer: r.maintainer,
          size: r.installedSize,
          description: r.description,
          foundBy: 'dpkg',
          locations: [{ path: `/${db.path}`, layer }],
          layer,
          files: list
            ? list
                .toString('utf8')
                .split('\n')
                .filter((l) => l && l !== '/.')
            : undefined,
        });
      }
    }
    return out;
  },
};
