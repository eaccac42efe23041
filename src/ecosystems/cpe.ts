import type { Ecosystem } from './model.js';

/**
 * Components the binary classifiers find outside any package manager (node, python, nginx…) have
 * no ecosystem feed; NVD describes what each CVE affects as CPE match criteria instead. Each
 * classifier is mapped to the CPE vendor:product pairs NVD files its releases under, and only those
 * pairs are kept from the NVD feed (ecosystem `CPE`, package `vendor:product`).
 */
export const CPE_PRODUCTS: Record<string, string[]> = {
  node: ['nodejs:node.js'],
  python: ['python:python'],
  redis: ['redis:redis'],
  // F5 took nginx over; NVD files older CVEs under nginx:nginx.
  nginx: ['f5:nginx', 'nginx:nginx'],
  httpd: ['apache:http_server'],
  php: ['php:php'],
  ruby: ['ruby-lang:ruby'],
  openssl: ['openssl:openssl'],
  curl: ['haxx:curl', 'haxx:libcurl'],
  busybox: ['busybox:busybox'],
  postgresql: ['postgresql:postgresql'],
  haproxy: ['haproxy:haproxy'],
  memcached: ['memcached:memcached'],
  openjdk: ['oracle:openjdk'],
};

/** NVD's CPE ranges, for binary-identified components (src/match/cpe.ts). */
export const cpe: Ecosystem = {
  osv: 'CPE',
  scheme: 'upstream',
  importers: ['nvd'],
  catalogers: ['binary'],
};
