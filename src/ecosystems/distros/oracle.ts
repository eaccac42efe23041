import type { Distro } from '../model.js';

export const oracle: Distro = {
  id: 'ol',
  packageType: 'rpm',
  namespace: 'oracle',
  releaseFile: { path: 'etc/oracle-release', name: 'oracle' },
  refinedByReleaseFile: true,
  feed: {
    ecosystem: 'Oracle Linux',
    // Oracle Linux errata (ELSA) name the release by the rpm's `.elN` tag, one advisory set per major.
    releaseMatches: (r, v) => r === v.split('.')[0],
    key: 'name',
    version: 'own',
    importers: ['elsa'],
  },
  eol: { '6': '2021-03-01', '7': '2024-12-31', '8': '2029-07-31', '9': '2032-06-30' },
};
