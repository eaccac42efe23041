import type { Ecosystem } from './model.js';

export const pypi: Ecosystem = {
  osv: 'PyPI',
  purlType: 'pypi',
  scheme: 'pep440',
  // PEP 503: runs of -, _ and . are one separator; case does not matter.
  normalizeName: (name) => name.toLowerCase().replace(/[-_.]+/g, '-'),
  osvFeed: true,
  catalogers: ['python', 'python-lock', 'poetry-lock', 'uv-lock', 'pdm-lock', 'pylock'],
};
