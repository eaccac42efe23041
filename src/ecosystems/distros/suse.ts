import type { Distro } from '../model.js';

const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

export const opensuseLeap: Distro = {
  id: 'opensuse-leap',
  packageType: 'rpm',
  namespace: 'opensuse',
  feed: {
    ecosystem: 'openSUSE',
    releaseMatches: (r, v) => r === `Leap ${v}` || r.startsWith(`Leap ${majorMinor(v)}`),
    key: 'name',
    version: 'own',
    osv: true,
    importers: ['osv'],
  },
  eolKeys: (v) => [majorMinor(v)],
  eol: {
    '15.0': '2019-12-03',
    '15.1': '2021-02-02',
    '15.2': '2021-12-31',
    '15.3': '2022-12-31',
    '15.4': '2023-12-07',
    '15.5': '2024-12-31',
    '15.6': '2026-04-30',
  },
};

/** Rolling: no release in OSV's openSUSE data matches it yet; catalogued, not matched. */
export const opensuseTumbleweed: Distro = {
  id: 'opensuse-tumbleweed',
  packageType: 'rpm',
  namespace: 'opensuse',
};

export const sles: Distro = {
  id: 'sles',
  packageType: 'rpm',
  namespace: 'suse',
  feed: {
    ecosystem: 'SUSE',
    // By service pack: "Linux Enterprise Server 15 SP3", "…Module for Basesystem 15 SP3",
    // "…15 SP3-LTSS" hold for SLES 15.3; "…15" alone is 15's first release (GA), not every SP.
    releaseMatches: (r, v) => {
      const [maj, sp = '0'] = v.split('.');
      const m = /Linux Enterprise\D*?(\d+)(?: SP(\d+))?/.exec(r);
      return !!m && m[1] === maj && (m[2] ?? '0') === sp;
    },
    key: 'name',
    version: 'own',
    osv: true,
    importers: ['osv'],
  },
};

/** SLE Micro (sle-micro, sle-micro-rancher, sl-micro): catalogued under SUSE's namespace, not matched. */
export const sleMicro: Distro = {
  id: 'sle-micro',
  packageType: 'rpm',
  namespace: 'suse',
};
