import type { Ecosystem } from './model.js';

export const npm: Ecosystem = {
  osv: 'npm',
  purlType: 'npm',
  scheme: 'semver',
  osvFeed: true,
  catalogers: ['npm', 'npm-lock', 'yarn-lock', 'pnpm-lock', 'bun-lock'],
};
