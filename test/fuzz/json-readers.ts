import type { Keep } from '../../src/catalog/json-keep.js';
import {
  DEPS_JSON_KEEP,
  depsJsonPins,
  PACKAGES_LOCK_KEEP,
  packagesLockPins,
} from '../../src/catalog/dotnet.js';
import { PACKAGE_JSON_KEEP, packageJsonManifest } from '../../src/catalog/npm.js';
import { PACKAGE_LOCK_KEEP, packageLockPins } from '../../src/catalog/npm-lock.js';
import {
  COMPOSER_LOCK_KEEP,
  composerLockPins,
  INSTALLED_JSON_KEEP,
  installedJsonPins,
} from '../../src/catalog/php.js';
import { PIPFILE_LOCK_KEEP, pipfileLockPins } from '../../src/catalog/python-locks.js';
import { RENV_LOCK_KEEP, renvLockPins } from '../../src/catalog/cran.js';

/** An renv.lock (the shared fixtures have none). */
export const RENV_SAMPLE = Buffer.from(
  JSON.stringify({
    R: { Version: '4.3.1', Repositories: [{ Name: 'CRAN', URL: 'https://cloud.r-project.org' }] },
    Packages: {
      jsonlite: { Package: 'jsonlite', Version: '1.8.7', Source: 'Repository', Hash: '266a2044' },
      other: { Version: '0.48.1', Source: 'Bioconductor' },
      broken: { Package: 'broken' },
      odd: 7,
    },
  }),
);

/**
 * Every JSON manifest a cataloger streams past STREAM_FROM: what it keeps, how it reads, the
 * fixture files of its kind (`samples` where there are none).
 */
export const JSON_READERS: Array<{
  name: string;
  keep: Keep;
  read: (doc: never) => unknown;
  file: RegExp;
  samples?: Buffer[];
}> = [
  { name: 'deps.json', keep: DEPS_JSON_KEEP, read: depsJsonPins, file: /\.deps\.json$/ },
  {
    name: 'packages.lock.json',
    keep: PACKAGES_LOCK_KEEP,
    read: packagesLockPins,
    file: /^packages\.lock\.json$/,
  },
  { name: 'package.json', keep: PACKAGE_JSON_KEEP, read: packageJsonManifest, file: /^package\.json$/ },
  {
    name: 'package-lock.json',
    keep: PACKAGE_LOCK_KEEP,
    read: packageLockPins,
    file: /^package-lock.*\.json$/,
  },
  { name: 'composer.lock', keep: COMPOSER_LOCK_KEEP, read: composerLockPins, file: /^composer.*\.lock$/ },
  { name: 'installed.json', keep: INSTALLED_JSON_KEEP, read: installedJsonPins, file: /^installed\.json$/ },
  { name: 'Pipfile.lock', keep: PIPFILE_LOCK_KEEP, read: pipfileLockPins, file: /^Pipfile\.lock$/ },
  {
    name: 'renv.lock',
    keep: RENV_LOCK_KEEP,
    read: renvLockPins,
    file: /^renv\.lock$/,
    samples: [RENV_SAMPLE],
  },
];
