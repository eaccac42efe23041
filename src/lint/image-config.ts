import type { ImageMetadata } from '../image/model.js';
import type { ConfigFinding } from '../model/scan.js';
import { SECRET_NAME } from '../secrets/rules.js';

/**
 * Checks of a built image's configuration (`customs image --scanners config`): the same concerns
 * `customs lint` raises on a Dockerfile, read from what the image actually carries.
 */

const REMOTE_ADMIN: Record<string, string> = {
  '22': 'SSH',
  '23': 'telnet',
  '3389': 'RDP',
  '5900': 'VNC',
  '2375': 'the Docker API without TLS',
};
/** An image not rebuilt for this long misses every base-image fix published since. */
const STALE_DAYS = 90;

export function checkImageConfig(image: ImageMetadata, now = Date.now()): ConfigFinding[] {
  const out: ConfigFinding[] = [];
  const c = image.config ?? {};
  const user = (c.user ?? '').trim();
  if (!user || /^(root|0)(:.*)?$/.test(user))
    out.push({
      rule: 'CST-IC001',
      severity: 'MEDIUM',
      title: 'Runs as root',
      message: user ? `the image runs as ${user}` : 'the image sets no user, so it runs as root',
      fix: 'Set USER to a non-root user (numeric UID) in the Dockerfile.',
    });
  for (const p of c.exposedPorts ?? []) {
    const port = p.split('/')[0];
    if (REMOTE_ADMIN[port])
      out.push({
        rule: 'CST-IC002',
        severity: 'MEDIUM',
        title: 'Exposes a remote administration port',
        message: `EXPOSE ${p} (${REMOTE_ADMIN[port]}): containers are replaced, not logged into`,
        fix: 'Remove the port and the daemon behind it; use `docker exec`/`kubectl exec` for debugging.',
      });
  }
  for (const kv of c.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0 && SECRET_NAME.test(kv.slice(0, eq)) && kv.length - eq - 1 >= 6)
      out.push({
        rule: 'CST-IC003',
        severity: 'HIGH',
        title: 'Secret in the image environment',
        message: `ENV ${kv.slice(0, eq)} is set in the image config, readable by anyone who pulls the image`,
        fix: 'Inject secrets at run time (orchestrator secrets, files mounted at start), never with ENV.',
      });
  }
  if (!c.healthcheck?.length || c.healthcheck[0] === 'NONE')
    out.push({
      rule: 'CST-IC004',
      severity: 'LOW',
      title: 'No HEALTHCHECK',
      message: 'the image declares no health check',
      fix: 'Add HEALTHCHECK CMD … (or a probe in the orchestrator).',
    });
  const created = image.created ? Date.parse(image.created) : NaN;
  if (Number.isFinite(created) && created > 0 && now - created > STALE_DAYS * 86_400_000)
    out.push({
      rule: 'CST-IC005',
      severity: 'LOW',
      title: 'Not rebuilt recently',
      message: `built ${Math.floor((now - created) / 86_400_000)} days ago (${image.created!.slice(0, 10)}); base-image fixes since then are missing`,
      fix: `Rebuild at least every ${STALE_DAYS} days, pulling the base image again.`,
    });
  return out;
}
