import type { Ecosystem } from './model.js';

/** Node.js's security-wg data (vulndb/importers/nodejs.ts): the `node` binary's own feed. */
export const nodejs: Ecosystem = {
  osv: 'Node.js',
  scheme: 'semver',
  importers: ['nodejs-security-wg'],
  ownFeedFor: 'node',
  catalogers: ['binary'],
};
