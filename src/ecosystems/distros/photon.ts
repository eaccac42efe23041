import type { Distro } from '../model.js';

export const photon: Distro = {
  id: 'photon',
  packageType: 'rpm',
  feed: {
    ecosystem: 'Photon OS',
    releaseMatches: (r, v) => r === v || r === `${v.split('.')[0]}.0`,
    key: 'name',
    version: 'own',
    osv: true,
    importers: ['osv'],
  },
};
