import type { Distro } from '../model.js';

export const ubuntu: Distro = {
  id: 'ubuntu',
  packageType: 'deb',
  feed: {
    ecosystem: 'Ubuntu',
    // OSV writes Ubuntu releases as "22.04:LTS", "24.10"; Pro (ESM) data applies only to subscribers.
    releaseMatches: (r, v) => r === v || r === `${v}:LTS`,
    key: 'source',
    version: 'source',
    osv: true,
    importers: ['osv'],
  },
  eolKeys: (v) => [v.split(' ')[0]],
  eol: {
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
};
