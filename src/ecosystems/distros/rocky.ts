import type { Distro } from '../model.js';

export const rocky: Distro = {
  id: 'rocky',
  packageType: 'rpm',
  releaseFile: { path: 'etc/rocky-release', name: 'rocky' },
  refinedByReleaseFile: true,
  feed: {
    ecosystem: 'Rocky Linux',
    releaseMatches: (r, v) => r === v.split('.')[0],
    key: 'name',
    version: 'own',
    osv: true,
    importers: ['osv'],
  },
  eol: { '8': '2029-05-31', '9': '2032-05-31', '10': '2035-05-31' },
};
