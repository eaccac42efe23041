import type { Distro, DistroFeed } from '../model.js';

/**
 * Red Hat's data, by major release. CentOS Stream N is where RHEL N's updates come from, and
 * CentOS Linux rebuilt RHEL: Red Hat's data for that major applies (as Trivy and Grype map them).
 */
const redHatFeed: DistroFeed = {
  ecosystem: 'Red Hat',
  releaseMatches: (r, v) => new RegExp(`^enterprise_linux:${v.split('.')[0]}(::|$)`).test(r),
  key: 'name',
  version: 'own',
  sourceRows: true,
  osv: true,
  importers: ['osv', 'redhat-csaf'],
};

export const centos: Distro = {
  id: 'centos',
  packageType: 'rpm',
  releaseFile: { path: 'etc/centos-release', name: 'centos' },
  refinedByReleaseFile: true,
  feed: redHatFeed,
  eol: { '5': '2017-03-31', '6': '2020-11-30', '7': '2024-06-30', '8': '2021-12-31' },
};

/** Ships etc/centos-release too ("CentOS Stream release 9"); told apart by the product name. */
export const centosStream: Distro = {
  id: 'centos-stream',
  packageType: 'rpm',
  releaseFile: { name: 'centos stream' },
  feed: redHatFeed,
  eol: { '8': '2024-05-31', '9': '2027-05-31' },
};

export const rhel: Distro = {
  id: 'rhel',
  packageType: 'rpm',
  namespace: 'redhat',
  releaseFile: { path: 'etc/redhat-release', name: 'red hat' },
  refinedByReleaseFile: true,
  feed: redHatFeed,
  eol: {
    '5': '2017-03-31',
    '6': '2020-11-30',
    '7': '2024-06-30',
    '8': '2029-05-31',
    '9': '2032-05-31',
    '10': '2035-05-31',
  },
};
