import { compareDigits, type VersionScheme } from './scheme.js';

/** CRAN: numeric components separated by `.` or `-`; missing components sort first. */
export const cranScheme: VersionScheme = {
  name: 'cran',
  compare(a, b) {
    const x = a.trim().split(/[.-]/);
    const y = b.trim().split(/[.-]/);
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n; i++) {
      if (x[i] === undefined) return -1;
      if (y[i] === undefined) return 1;
      const d = compareDigits(x[i], y[i]);
      if (d) return d;
    }
    return 0;
  },
  valid: (v) => /^\d+([.-]\d+)*$/.test(v.trim()),
};
