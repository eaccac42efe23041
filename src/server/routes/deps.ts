import type { FastifyRequest } from 'fastify';
import type { Admission } from '../../gate/admission.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { DbUpdater } from '../../monitor/db-updater.js';
import type { Policy } from '../../policy/policy.js';
import type { ReportStorer, Services } from '../../services/ingest.js';
import type { SecretBox } from '../../store/secret-box.js';
import type { Metrics } from '../metrics.js';
import type { Oidc } from '../oidc.js';
import type { Leadership } from '../singletons.js';

/** What the gate's routes need: the judge's policy, admission (and its cache), attestations. */
export interface GateDeps extends Services {
  box: SecretBox;
  policy: Policy;
  admission: Admission;
  /** Queue the signing of an image's attestations (without a digest: of every image attested). */
  attest: (digest?: string) => void;
}

/** What the resource routes need from the server (app.ts builds it). */
export interface ResourceDeps extends GateDeps {
  queue: JobQueue;
  metrics: Metrics;
  updater?: DbUpdater;
  reports?: ReportStorer;
  lifecycle?: { draining: boolean; leadership?: Leadership };
  /** An environment was added or changed: cached admission decisions are stale. */
  gateChanged?: () => void;
  /** Admission requests without a token are answered (but recorded as nothing). */
  admissionAnonymous: boolean;
  /** Whether cookies get `Secure`: served over HTTPS here, or behind a TLS proxy (app.ts). */
  secure: (req: FastifyRequest) => boolean;
  oidc?: Oidc;
}
