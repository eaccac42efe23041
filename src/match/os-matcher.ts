import type { Package } from '../catalog/model.js';
import type { OsInfo } from '../catalog/os-release.js';
import { schemeForEcosystem, type VersionScheme } from '../versions/index.js';

/**
 * Where an OS package's advisories live: the distro's own ecosystem and release in the feeds, the
 * name the feed keys on (source package for Alpine/Debian/Ubuntu), and which installed version
 * to compare. OS packages are never matched by CPE or against another distro's data.
 */
export interface OsTarget {
  ecoBase: string;
  releaseMatches(release: string): boolean;
  /** The name advisories use for this package. */
  keyOf(pkg: Package): string;
  /**
   * Where the feed also keys some rows by source package (Red Hat's VEX statuses, marked
   * `component: source`), the source name to look those up under.
   */
  sourceKeyOf?(pkg: Package): string | undefined;
  /** The version to compare with the feed's ranges. */
  versionOf(pkg: Package): string;
  scheme: VersionScheme;
  packageType: string;
}

const major = (v: string) => v.split('.')[0];
const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

export function osTarget(os: OsInfo | undefined): OsTarget | undefined {
  if (!os) return undefined;
  const bySource = (p: Package) => p.source?.name ?? p.name;
  const byName = (p: Package) => p.name;
  const own = (p: Package) => p.version;
  // Debian's feeds give source versions; a binNMU (+bN) or a differently versioned binary keeps its source's version.
  const sourceVersion = (p: Package) => p.source?.version ?? p.version;
  const target = (
    ecoBase: string,
    packageType: string,
    releaseMatches: (r: string) => boolean,
    keyOf: (p: Package) => string,
    versionOf: (p: Package) => string,
  ): OsTarget => ({
    ecoBase,
    packageType,
    releaseMatches,
    keyOf,
    versionOf,
    scheme: schemeForEcosystem(ecoBase)!,
  });
  const rpm = (ecoBase: string, release: (r: string) => boolean) =>
    target(ecoBase, 'rpm', release, byName, own);
  const redHat = (): OsTarget => ({
    ...rpm('Red Hat', (r) => new RegExp(`^enterprise_linux:${major(os.version)}(::|$)`).test(r)),
    sourceKeyOf: (p) => p.source?.name,
  });
  switch (os.id) {
    case 'alpine':
      return target('Alpine', 'apk', (r) => r === `v${majorMinor(os.version)}`, bySource, own);
    case 'debian':
      return target('Debian', 'deb', (r) => r === major(os.version), bySource, sourceVersion);
    case 'ubuntu':
      // OSV writes Ubuntu releases as "22.04:LTS", "24.10"; Pro (ESM) data applies only to subscribers.
      return target(
        'Ubuntu',
        'deb',
        (r) => r === os.version || r === `${os.version}:LTS`,
        bySource,
        sourceVersion,
      );
    case 'almalinux':
      return rpm('AlmaLinux', (r) => r === major(os.version));
    case 'rocky':
      return rpm('Rocky Linux', (r) => r === major(os.version));
    case 'rhel':
      return redHat();
    case 'opensuse-leap':
      return rpm(
        'openSUSE',
        (r) => r === `Leap ${os.version}` || r.startsWith(`Leap ${majorMinor(os.version)}`),
      );
    case 'sles': {
      // By service pack: "Linux Enterprise Server 15 SP3", "…Module for Basesystem 15 SP3",
      // "…15 SP3-LTSS" hold for SLES 15.3; "…15" alone is 15's first release (GA), not every SP.
      const [maj, sp = '0'] = os.version.split('.');
      return rpm('SUSE', (r) => {
        const m = /Linux Enterprise\D*?(\d+)(?: SP(\d+))?/.exec(r);
        return !!m && m[1] === maj && (m[2] ?? '0') === sp;
      });
    }
    case 'ol':
      // Oracle Linux errata (ELSA) name the release by the rpm's `.elN` tag, one advisory set per major.
      return rpm('Oracle Linux', (r) => r === major(os.version));
    case 'azurelinux':
    case 'mariner':
      // One OSV ecosystem for both names: CBL-Mariner 2.0 is "Azure Linux:2", Azure Linux 3.0 "…:3".
      return rpm('Azure Linux', (r) => r === major(os.version) || r === os.version);
    case 'photon':
      return rpm('Photon OS', (r) => r === os.version || r === `${major(os.version)}.0`);
    case 'centos-stream':
    case 'centos':
      // CentOS Stream N is where RHEL N's updates come from, and CentOS Linux rebuilt RHEL: Red
      // Hat's data for that major applies (as Trivy and Grype map them).
      return redHat();
    case 'amzn':
      // ALAS lists the binary rpms that carry each fix; releases are 1 (2018.03), 2 and 2023.
      return rpm('Amazon Linux', (r) => r === (major(os.version) === '2018' ? '1' : major(os.version)));
    case 'wolfi':
    case 'chainguard':
      // Rolling distributions: one advisory set, no releases. Advisories name the origin package
      // (openssl), so its subpackages (libssl3, libcrypto3) are matched through their origin.
      return target(os.id === 'wolfi' ? 'Wolfi' : 'Chainguard', 'apk', () => true, bySource, own);
    default:
      return undefined;
  }
}
