import type { FastifyInstance } from 'fastify';
import type { ResourceDeps } from './deps.js';
import { admissionRoutes } from './admission.js';
import { alertRuleRoutes } from './alert-rules.js';
import { alertRoutes } from './alerts.js';
import { approvalRoutes } from './approvals.js';
import { auditRoutes } from './audit.js';
import { baseCandidateRoutes } from './base-candidates.js';
import { changeRoutes } from './changes.js';
import { channelRoutes } from './channels.js';
import { clusterRoutes } from './cluster.js';
import { compareRoutes } from './compare.js';
import { databaseRoutes } from './database.js';
import { decisionRoutes } from './decisions.js';
import { deploymentRoutes } from './deployments.js';
import { environmentRoutes } from './environments.js';
import { exceptionRoutes } from './exceptions.js';
import { gateSettingRoutes } from './gate-settings.js';
import { imageViewRoutes } from './image-view.js';
import { imageRoutes } from './images.js';
import { jobRoutes } from './jobs.js';
import { keyRoutes } from './keys.js';
import { loginRoutes } from './login.js';
import { oidcRoutes } from './oidc.js';
import { overviewRoutes } from './overview.js';
import { policyRoutes } from './policy.js';
import { registryRoutes } from './registries.js';
import { reportRoutes } from './reports.js';
import { searchRoutes } from './search.js';
import { sessionRoutes } from './session.js';
import { tokenRoutes } from './tokens.js';
import { trendRoutes } from './trends.js';
import { vexRoutes } from './vex.js';
import { userRoutes } from './users.js';
import { watchRoutes } from './watches.js';
import { webhookRoutes } from './webhooks.js';

export type { GateDeps, ResourceDeps } from './deps.js';

/**
 * The API's resources, one file each: `routes/<resource>.ts` with its shapes in
 * `schemas/<resource>.ts` (docs/design.md, "How to add an API route with a role"). A new resource is
 * one line here.
 */
export function resourceRoutes(app: FastifyInstance, deps: ResourceDeps): void {
  imageRoutes(app, deps);
  approvalRoutes(app, deps);
  decisionRoutes(app, deps);
  gateSettingRoutes(app, deps);
  exceptionRoutes(app, deps);
  auditRoutes(app, deps);
  keyRoutes(app, deps);
  vexRoutes(app, deps);
  admissionRoutes(app, deps);
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
  sessionRoutes(app, deps);
  oidcRoutes(app, deps);
  searchRoutes(app, deps);
  imageViewRoutes(app, deps);
  baseCandidateRoutes(app, deps);
  compareRoutes(app, deps);
  trendRoutes(app, deps);
  overviewRoutes(app, deps);
  policyRoutes(app, deps);
}
