import type { Distro } from '../model.js';

export const almalinux: Distro = {
  id: 'almalinux',
  packageType: 'rpm',
  releaseFile: { path: 'etc/almalinux-release', name: 'almalinux' },
  refinedByReleaseFile: true,
  feed: {
    ecosystem: 'AlmaLinux',
    releaseMatches: (r, v) => r === v.split('.')[0],
    key: 'name',
    version: 'own',
    osv: true,
    importers: ['osv'],
  },
  eol: { '8': '2029-03-01', '9': '2032-05-31', '10': '2035-05-31' },
};
