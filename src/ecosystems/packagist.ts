import type { Ecosystem } from './model.js';

export const packagist: Ecosystem = {
  osv: 'Packagist',
  purlType: 'composer',
  scheme: 'packagist',
  normalizeName: (name) => name.toLowerCase(),
  osvFeed: true,
  catalogers: ['composer-installed', 'composer-lock', 'pecl-registry'],
};
