import type { LayeredFileSystem } from '../image/filesystem.js';
import {
  distroOfReleaseName,
  endOfLife,
  REFINED_BY_RELEASE_FILE,
  RELEASE_FILES,
  type EolInfo,
} from '../ecosystems/index.js';

export interface OsInfo {
  /** os-release ID, refined where one ID covers two distros (centos-stream, sle-micro). */
  id: string;
  /** Release as precise as the image tells (3.11.5, 12.4, 7.6.1810). */
  version: string;
  name?: string;
  prettyName?: string;
  codename?: string;
  idLike: string[];
  eol?: EolInfo;
  /** The file the answer came from. */
  source: string;
}

/** Parse the KEY=value format of os-release and lsb-release (quotes and escapes per os-release(5)). */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if (
      (v.startsWith('"') && v.endsWith('"') && v.length >= 2) ||
      (v.startsWith("'") && v.endsWith("'") && v.length >= 2)
    ) {
      v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    }
    out[m[1]] = v;
  }
  return out;
}

/** Identify the distribution from os-release fields alone (undefined without ID or a version). */
export function osFromOsRelease(text: string, source = 'etc/os-release'): OsInfo | undefined {
  const kv = parseKeyValues(text);
  let id = (kv.ID ?? '').toLowerCase();
  const version = kv.VERSION_ID ?? '';
  if (!id || !version) return undefined;
  if (id === 'centos' && /stream/i.test(kv.NAME ?? '')) id = 'centos-stream';
  // SLE Micro: `sle-micro`, `sle-micro-rancher` (5.x) and `sl-micro` (6.x) are one product line.
  if (id === 'sle-micro-rancher' || id === 'sl-micro') id = 'sle-micro';
  if (id === 'opensuse' && /tumbleweed/i.test(kv.NAME ?? '')) id = 'opensuse-tumbleweed';
  if (id === 'opensuse' || id === 'opensuse-leap') id = 'opensuse-leap';
  return {
    id,
    version,
    name: kv.NAME,
    prettyName: kv.PRETTY_NAME,
    codename: kv.VERSION_CODENAME || undefined,
    idLike: (kv.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
    source,
  };
}

/** `CentOS Linux release 7.6.1810 (Core)` → centos 7.6.1810. */
export function osFromRedhatRelease(text: string, fallbackId: string, source: string): OsInfo | undefined {
  const m = /^(.*?)\s+release\s+(\S+)/i.exec(text.trim());
  if (!m) return undefined;
  // The product name, longest first (CentOS Stream before CentOS): the distro records' release names.
  const id = distroOfReleaseName(m[1]) ?? fallbackId;
  return { id, version: m[2], name: m[1], idLike: [], source };
}

export const OS_FILES = new Set([
  'etc/os-release',
  'usr/lib/os-release',
  'etc/alpine-release',
  'etc/debian_version',
  'etc/lsb-release',
  ...RELEASE_FILES.map(([f]) => f),
]);

async function text(fs: LayeredFileSystem, path: string): Promise<string | undefined> {
  const b = await fs.readFile(path);
  return b?.toString('utf8');
}

/**
 * Which distribution the image is: os-release first (etc, then usr/lib), refined by the
 * distro's own release file, which is often more precise (alpine-release 3.11.5, debian_version 12.4).
 */
export async function detectOs(fs: LayeredFileSystem, now = new Date()): Promise<OsInfo | undefined> {
  let os: OsInfo | undefined;
  for (const f of ['etc/os-release', 'usr/lib/os-release']) {
    const t = await text(fs, f);
    if (t !== undefined) {
      os = osFromOsRelease(t, f);
      if (os) break;
    }
  }
  const alpine = (await text(fs, 'etc/alpine-release'))?.trim();
  if (alpine && /^\d+\.\d+/.test(alpine) && (!os || os.id === 'alpine')) {
    os = os
      ? { ...os, version: alpine }
      : { id: 'alpine', version: alpine, name: 'Alpine Linux', idLike: [], source: 'etc/alpine-release' };
  }
  const debian = (await text(fs, 'etc/debian_version'))?.trim();
  if (debian && /^\d+(\.\d+)*$/.test(debian) && (!os || os.id === 'debian')) {
    os = os
      ? { ...os, version: debian }
      : { id: 'debian', version: debian, name: 'Debian GNU/Linux', idLike: [], source: 'etc/debian_version' };
  }
  if (!os) {
    const lsb = await text(fs, 'etc/lsb-release');
    if (lsb) {
      const kv = parseKeyValues(lsb);
      if (kv.DISTRIB_ID && kv.DISTRIB_RELEASE) {
        os = {
          id: kv.DISTRIB_ID.toLowerCase(),
          version: kv.DISTRIB_RELEASE,
          name: kv.DISTRIB_ID,
          codename: kv.DISTRIB_CODENAME,
          idLike: [],
          source: 'etc/lsb-release',
        };
      }
    }
  }
  if (!os || REFINED_BY_RELEASE_FILE.has(os.id)) {
    for (const [f, id] of RELEASE_FILES) {
      const t = await text(fs, f);
      if (!t) continue;
      const r = osFromRedhatRelease(t, id, f);
      if (r && (!os || (r.id === os.id && r.version.startsWith(os.version)))) {
        os = os ? { ...os, version: r.version } : r;
        break;
      }
    }
  }
  if (os) os.eol = endOfLife(os.id, os.version, now);
  return os;
}
