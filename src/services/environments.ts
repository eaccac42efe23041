import {
  addChannel,
  alertRulesOf,
  listChannels,
  setAlertRules,
  type AlertRules,
  type ChannelInput,
} from '../store/alerts.js';
import { findEnvironment, putEnvironment, setGateJson } from '../store/deployments.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Environment } from '../store/deployments.js';
import { withAudit, type AuditContext } from './audit.js';

/** Environments, their gate settings, alert rules and alert channels: every change audited. */

export function putEnvironmentAudited(ctx: AuditContext, e: Environment): Promise<void> {
  return withAudit(ctx, 'environment.put', async (trx) => {
    const before = await findEnvironment(trx, e.name);
    await putEnvironment(trx, e);
    return {
      value: undefined,
      subject: `environment:${e.name}`,
      details: {
        exposure: e.exposure,
        before: before ? { exposure: before.exposure } : null,
        after: { exposure: e.exposure },
      },
    };
  });
}

/** Store an environment's gate settings (`before`: what they were, for the entry). */
export function setGate<G extends object>(
  ctx: AuditContext,
  name: string,
  before: G,
  next: G,
): Promise<void> {
  return withAudit(ctx, 'environment.gate', async (trx) => {
    await setGateJson(trx, name, JSON.stringify(next));
    return { value: undefined, subject: `environment:${name}`, details: { before, after: next } };
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
