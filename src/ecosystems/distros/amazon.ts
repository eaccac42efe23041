import type { Distro } from '../model.js';

export const amazon: Distro = {
  id: 'amzn',
  packageType: 'rpm',
  namespace: 'amazon',
  releaseFile: { path: 'etc/system-release', name: 'amazon' },
  feed: {
    ecosystem: 'Amazon Linux',
    // ALAS lists the binary rpms that carry each fix; releases are 1 (2018.03), 2 and 2023.
    releaseMatches: (r, v) => r === (v.split('.')[0] === '2018' ? '1' : v.split('.')[0]),
    key: 'name',
    version: 'own',
    importers: ['alas'],
  },
  // Amazon Linux 1's VERSION_ID is "2018.03"; the others are looked up by their first word.
  eolKeys: (v) => [v.split(' ')[0], v],
  eol: {
    '1': '2023-12-31',
    '2018.03': '2023-12-31',
    '2': '2026-06-30',
    '2022': '2023-03-15',
    '2023': '2029-06-30',
  },
};
