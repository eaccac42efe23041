import {
  addChannel,
  alertRulesOf,
  listChannels,
  setAlertRules,
  type AlertRules,
  type ChannelInput,
} from '../store/alerts.js';
import { findEnvironment, putEnvironment, setGateJson } from '../store/deployments.js';
import { repend } from '../store/exceptions.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Environment } from '../store/deployments.js';
import { withAudit, type AuditContext } from './audit.js';

/** Environments, their gate settings, alert rules and alert channels: every change audited. */

/**
 * `signoff`: whether the environment, when new, asks for exception sign-off (its default gate).
 * Exceptions for "every environment" then cover it without anyone having signed them off for it:
 * they go back to pending, as when an environment turns sign-off on.
 */
export function putEnvironmentAudited(
  ctx: AuditContext,
  e: Environment,
  o: { signoff?: boolean } = {},
): Promise<void> {
  return withAudit(ctx, 'environment.put', async (trx) => {
    const before = await findEnvironment(trx, e.name);
    await putEnvironment(trx, e);
    const repended = !before && o.signoff ? await repend(trx, e.name) : [];
    return {
      value: undefined,
      subject: `environment:${e.name}`,
      details: {
        ...(repended.length ? { exceptionsPending: repended } : {}),
        exposure: e.exposure,
        before: before ? { exposure: before.exposure } : null,
        after: { exposure: e.exposure },
      },
    };
  });
}

/** Store an environment's gate settings (`before`: what they were, for the entry). */
export function setGate<G extends { exceptionSignoff?: boolean }>(
  ctx: AuditContext,
  name: string,
  before: G,
  next: G,
): Promise<void> {
  return withAudit(ctx, 'environment.gate', async (trx) => {
    await setGateJson(trx, name, JSON.stringify(next));
    // Turning sign-off on: exceptions active here were never signed off for it.
    const repended = !before.exceptionSignoff && next.exceptionSignoff ? await repend(trx, name) : [];
    return {
      value: undefined,
      subject: `environment:${name}`,
      details: { before, after: next, ...(repended.length ? { exceptionsPending: repended } : {}) },
    };
  });
}

export function setAlertRulesAudited(ctx: AuditContext, name: string, rules: AlertRules): Promise<void> {
  return withAudit(ctx, 'environment.alert-rules', async (trx) => {
    const before = await alertRulesOf(trx, name);
    await setAlertRules(trx, name, rules);
    return {
      value: undefined,
      subject: `environment:${name}`,
      details: { rules, before, after: rules },
    };
  });
}

export function addChannelAudited(ctx: AuditContext, box: SecretBox, c: ChannelInput) {
  return withAudit(ctx, 'channel.create', async (trx) => {
    const id = await addChannel(trx, box, c);
    const listed = (await listChannels(trx)).find((x) => x.id === id)!;
    // As listed: a webhook URL's path can hold a token (Slack's, Teams'), so only its origin.
    return {
      value: listed,
      subject: `channel:${id}`,
      details: {
        type: listed.type,
        target: listed.target,
        signed: listed.signed,
        environments: listed.environments,
      },
    };
  });
}
