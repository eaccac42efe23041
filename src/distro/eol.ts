import { distroOf, eolKey } from '../ecosystems/index.js';
import { compareDotted } from '../versions/dotted.js';

/**
 * End of support per release: the tables live in the distro records (src/ecosystems/distros/,
 * from each distribution's published lifecycle page); os-release detection reads them there.
 */
export { endOfLife, type EolInfo } from '../ecosystems/index.js';

/**
 * How many releases of the same distribution the lifecycle table lists after this one: how far
 * behind an image's base is. Releases are ordered by version; interim and LTS lines count alike.
 */
export function releasesBehind(id: string, version: string): number | undefined {
  const d = distroOf(id);
  if (!d?.eol) return undefined;
  const key = eolKey(d, version);
  if (!Object.hasOwn(d.eol, key)) return undefined;
  return Object.keys(d.eol).filter((k) => compareDotted(k, key) > 0).length;
}
