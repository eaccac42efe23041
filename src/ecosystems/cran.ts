import type { Ecosystem } from './model.js';

/** R: installed packages' DESCRIPTION files and renv.lock (catalog/cran.ts). */
export const cran: Ecosystem = {
  osv: 'CRAN',
  purlType: 'cran',
  scheme: 'cran',
  osvFeed: true,
  catalogers: ['cran-description', 'renv-lock'],
};
