import type { FastifyInstance } from 'fastify';
import type { JobQueue } from '../../jobs/queue.js';
import type { DbUpdater } from '../../monitor/db-updater.js';
import type { ReportStorer, Services } from '../../services/ingest.js';
import type { SecretBox } from '../../store/secret-box.js';
import type { Metrics } from '../metrics.js';
import type { Leadership } from '../singletons.js';
import { alertRuleRoutes } from './alert-rules.js';
import { alertRoutes } from './alerts.js';
import { changeRoutes } from './changes.js';
import { channelRoutes } from './channels.js';
import { clusterRoutes } from './cluster.js';
import { databaseRoutes } from './database.js';
import { deploymentRoutes } from './deployments.js';
import { environmentRoutes } from './environments.js';
import { jobRoutes } from './jobs.js';
import { loginRoutes } from './login.js';
import { registryRoutes } from './registries.js';
import { reportRoutes } from './reports.js';
import { tokenRoutes } from './tokens.js';
import { userRoutes } from './users.js';
import { watchRoutes } from './watches.js';
import { webhookRoutes } from './webhooks.js';

/** What the resource routes below need from the server. */
export interface ResourceDeps extends Services {
  box: SecretBox;
  queue: JobQueue;
  metrics: Metrics;
  updater?: DbUpdater;
  reports?: ReportStorer;
  lifecycle?: { draining: boolean; leadership?: Leadership };
  /** An environment was added or changed: cached admission decisions are stale. */
  gateChanged?: () => void;
}

/**
 * The API's resources, one file each: `routes/<resource>.ts` with its shapes in
 * `schemas/<resource>.ts` (docs/design.md, "How to add an API route with a role"). A new resource is
 * one line here.
 */
export function resourceRoutes(app: FastifyInstance, deps: ResourceDeps): void {
  clusterRoutes(app, deps);
  registryRoutes(app, deps);
  tokenRoutes(app, deps);
  userRoutes(app, deps);
  loginRoutes(app, deps);
  watchRoutes(app, deps);
  jobRoutes(app, deps);
  webhookRoutes(app, deps);
  reportRoutes(app, deps);
  channelRoutes(app, deps);
  alertRuleRoutes(app, deps);
  alertRoutes(app, deps);
  deploymentRoutes(app, deps);
  environmentRoutes(app, deps);
  changeRoutes(app, deps);
  databaseRoutes(app, deps);
}
