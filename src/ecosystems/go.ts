import type { Ecosystem } from './model.js';

export const go: Ecosystem = {
  osv: 'Go',
  purlType: 'golang',
  scheme: 'semver',
  staticallyLinked: true,
  osvFeed: true,
  catalogers: ['go-binary', 'go-mod', 'go-sum'],
};
