import type { Distro } from '../model.js';

/** No advisory feed is imported for Fedora: its packages are catalogued, not matched. */
export const fedora: Distro = {
  id: 'fedora',
  packageType: 'rpm',
  releaseFile: { path: 'etc/fedora-release', name: 'fedora' },
  refinedByReleaseFile: true,
  eol: {
    '36': '2023-05-16',
    '37': '2023-12-05',
    '38': '2024-05-21',
    '39': '2024-11-26',
    '40': '2025-05-13',
    '41': '2025-12-15',
    '42': '2026-05-13',
  },
};
