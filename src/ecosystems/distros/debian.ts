import type { Distro } from '../model.js';

export const debian: Distro = {
  id: 'debian',
  packageType: 'deb',
  feed: {
    ecosystem: 'Debian',
    releaseMatches: (r, v) => r === v.split('.')[0],
    key: 'source',
    // Debian's feeds give source versions; a binNMU (+bN) or a differently versioned binary keeps its source's version.
    version: 'source',
    osv: true,
    importers: ['osv', 'debian-tracker'],
  },
  eol: {
    '6': '2016-02-29',
    '7': '2018-05-31',
    '8': '2020-06-30',
    '9': '2022-06-30',
    '10': '2024-06-30',
    '11': '2026-08-31',
    '12': '2028-06-30',
    '13': '2030-06-30',
  },
};
