import { compareDotted } from '../versions/dotted.js';
/**
 * End of support (security updates, incl. LTS where the distro offers it free) per release, from
 * each distribution's published lifecycle page. Keyed by os-release ID, then release.
 */
const EOL: Record<string, Record<string, string>> = {
  alpine: {
    '3.0': '2016-05-01',
    '3.1': '2016-11-01',
    '3.2': '2017-05-01',
    '3.3': '2017-11-01',
    '3.4': '2018-05-01',
    '3.5': '2018-11-01',
    '3.6': '2019-05-01',
    '3.7': '2019-11-01',
    '3.8': '2020-05-01',
    '3.9': '2021-01-01',
    '3.10': '2021-05-01',
    '3.11': '2021-11-01',
    '3.12': '2022-05-01',
    '3.13': '2022-11-01',
    '3.14': '2023-05-01',
    '3.15': '2023-11-01',
    '3.16': '2024-05-23',
    '3.17': '2024-11-22',
    '3.18': '2025-05-09',
    '3.19': '2025-11-01',
    '3.20': '2026-04-01',
    '3.21': '2026-11-01',
    '3.22': '2027-05-01',
    '3.23': '2027-11-01',
  },
  debian: {
    '6': '2016-02-29',
    '7': '2018-05-31',
    '8': '2020-06-30',
    '9': '2022-06-30',
    '10': '2024-06-30',
    '11': '2026-08-31',
    '12': '2028-06-30',
    '13': '2030-06-30',
  },
  ubuntu: {
    '12.04': '2017-04-28',
    '14.04': '2019-04-25',
    '16.04': '2021-04-30',
    '18.04': '2023-05-31',
    '20.04': '2025-05-31',
    '20.10': '2021-07-22',
    '21.04': '2022-01-20',
    '21.10': '2022-07-14',
    '22.04': '2027-06-01',
    '22.10': '2023-07-20',
    '23.04': '2024-01-25',
    '23.10': '2024-07-11',
    '24.04': '2029-05-31',
    '24.10': '2025-07-10',
    '25.04': '2026-01-15',
    '25.10': '2026-07-09',
  },
  centos: { '5': '2017-03-31', '6': '2020-11-30', '7': '2024-06-30', '8': '2021-12-31' },
  'centos-stream': { '8': '2024-05-31', '9': '2027-05-31' },
  rhel: {
    '5': '2017-03-31',
    '6': '2020-11-30',
    '7': '2024-06-30',
    '8': '2029-05-31',
    '9': '2032-05-31',
    '10': '2035-05-31',
  },
  rocky: { '8': '2029-05-31', '9': '2032-05-31', '10': '2035-05-31' },
  almalinux: { '8': '2029-03-01', '9': '2032-05-31', '10': '2035-05-31' },
  ol: { '6': '2021-03-01', '7': '2024-12-31', '8': '2029-07-31', '9': '2032-06-30' },
  amzn: {
    '1': '2023-12-31',
    '2018.03': '2023-12-31',
    '2': '2026-06-30',
    '2022': '2023-03-15',
    '2023': '2029-06-30',
  },
  fedora: {
    '36': '2023-05-16',
    '37': '2023-12-05',
    '38': '2024-05-21',
    '39': '2024-11-26',
    '40': '2025-05-13',
    '41': '2025-12-15',
    '42': '2026-05-13',
  },
  'opensuse-leap': {
    '15.0': '2019-12-03',
    '15.1': '2021-02-02',
    '15.2': '2021-12-31',
    '15.3': '2022-12-31',
    '15.4': '2023-12-07',
    '15.5': '2024-12-31',
    '15.6': '2026-04-30',
  },
  mariner: { '1.0': '2023-07-31', '2.0': '2025-07-31' },
};

/** The lookup key of a release: Alpine and Leap by major.minor, Ubuntu as is, the rest by major. */
function releaseKey(id: string, version: string): string {
  if (id === 'alpine' || id === 'opensuse-leap' || id === 'mariner')
    return version.split('.').slice(0, 2).join('.');
  if (id === 'ubuntu' || id === 'amzn') return version.split(' ')[0];
  return version.split('.')[0];
}

export interface EolInfo {
  date: string;
  endOfLife: boolean;
}

export function endOfLife(id: string, version: string, now = new Date()): EolInfo | undefined {
  const table = EOL[id];
  if (!table) return undefined;
  const date = table[releaseKey(id, version)] ?? (id === 'amzn' ? table[version] : undefined);
  if (!date) return undefined;
  return { date, endOfLife: new Date(`${date}T23:59:59Z`) < now };
}

/**
 * How many releases of the same distribution the lifecycle table lists after this one: how far
 * behind an image's base is. Releases are ordered by version; interim and LTS lines count alike.
 */
export function releasesBehind(id: string, version: string): number | undefined {
  const table = EOL[id];
  if (!table) return undefined;
  const key = releaseKey(id, version);
  if (!(key in table)) return undefined;
  return Object.keys(table).filter((k) => compareDotted(k, key) > 0).length;
}
