import type { Ecosystem } from './model.js';

export const maven: Ecosystem = {
  osv: 'Maven',
  purlType: 'maven',
  scheme: 'maven',
  osvFeed: true,
  catalogers: ['java-archive', 'gradle-lockfile', 'sbt-lockfile', 'pom-xml'],
};
