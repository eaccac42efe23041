import { lockfileCataloger, type Pinned } from '../files.js';
import { mavenPurl } from './index.js';

/** Test-only configurations (testCompileClasspath, testRuntimeClasspath, test) make a dev dependency. */
const devOnly = (configs: string[]) => configs.length > 0 && configs.every((c) => /^test/i.test(c.trim()));

const purl = (name: string, version: string) => {
  const i = name.indexOf(':');
  return mavenPurl({ groupId: name.slice(0, i), artifactId: name.slice(i + 1), version });
};

/** Gradle's dependency lock file: `group:artifact:version=configuration,…` per line. */
export function parseGradleLockfile(text: string): Pinned[] {
  const out: Pinned[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('empty=')) continue;
    const m = /^([^:=\s]+):([^:=\s]+):([^:=\s]+)=(.*)$/.exec(line);
    if (!m) continue;
    out.push({ name: `${m[1]}:${m[2]}`, version: m[3], dev: devOnly(m[4].split(',').filter(Boolean)) });
  }
  return out;
}

/** sbt-dependency-lock's build.sbt.lock (JSON, lockVersion 1). */
export function parseSbtLock(text: string): Pinned[] {
  const doc = JSON.parse(text) as {
    dependencies?: Array<{ org?: string; name?: string; version?: string; configurations?: string[] }>;
  };
  return (doc.dependencies ?? [])
    .filter((d) => d.org && d.name && d.version)
    .map((d) => ({ name: `${d.org}:${d.name}`, version: d.version!, dev: devOnly(d.configurations ?? []) }));
}

export const gradleLockCataloger = lockfileCataloger({
  name: 'gradle-lockfile',
  type: 'maven',
  // gradle.lockfile (Gradle 7+), or one file per configuration under gradle/dependency-locks/ (6.x).
  wants: (p) => /(^|\/)gradle\.lockfile$|(^|\/)gradle\/dependency-locks\/[^/]+\.lockfile$/.test(p),
  parse: (content) => parseGradleLockfile(content.toString('utf8')),
  purl,
});

export const sbtLockCataloger = lockfileCataloger({
  name: 'sbt-lockfile',
  type: 'maven',
  wants: (p) => /(^|\/)build\.sbt\.lock$/.test(p),
  parse: (content) => parseSbtLock(content.toString('utf8')),
  purl,
});
