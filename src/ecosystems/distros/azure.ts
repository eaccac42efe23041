import type { Distro, DistroFeed } from '../model.js';

/** One OSV ecosystem for both names: CBL-Mariner 2.0 is "Azure Linux:2", Azure Linux 3.0 "…:3". */
const azureFeed: DistroFeed = {
  ecosystem: 'Azure Linux',
  formerNames: ['Mariner'],
  releaseMatches: (r, v) => r === v.split('.')[0] || r === v,
  key: 'name',
  version: 'own',
  osv: true,
  importers: ['osv'],
};

export const azurelinux: Distro = { id: 'azurelinux', packageType: 'rpm', feed: azureFeed };

export const mariner: Distro = {
  id: 'mariner',
  packageType: 'rpm',
  feed: azureFeed,
  eolKeys: (v) => [v.split('.').slice(0, 2).join('.')],
  eol: { '1.0': '2023-07-31', '2.0': '2025-07-31' },
};
