import { compareSemverLike, parseSemverLike } from './semver.js';
import type { VersionScheme } from './scheme.js';

/** NuGet: SemVer with up to four numeric parts and case-insensitive pre-release labels. */
export const nugetScheme: VersionScheme = {
  name: 'nuget',
  compare: (a, b) => compareSemverLike(parseSemverLike(a, true), parseSemverLike(b, true)),
  valid: (v) => /^\d+(\.\d+){0,3}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v.trim()),
};
