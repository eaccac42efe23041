import type { Command } from 'commander';
import { CustomsError } from '../errors.js';
import { callServer, serverEndpoint } from './report-to.js';

export function registerDeploy(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('tell a Customs server what runs where (from a CD pipeline)');
  deploy
    .command('record')
    .description('record that an image now runs in an environment')
    .argument('<image>', 'registry/repository@sha256:… (by digest: what actually runs)')
    .requiredOption('--env <environment>', 'production, staging, dev or one the server knows')
    .option('--namespace <ns>', 'Kubernetes namespace or similar')
    .option('--service <name>', 'the service or workload name')
    .option('--server <url>', 'the Customs server (default: $CUSTOMS_SERVER)')
    .option('--token <token>', 'API token with the report permission (default: $CUSTOMS_TOKEN)')
    .action(
      async (
        image: string,
        o: { env: string; namespace?: string; service?: string; server?: string; token?: string },
      ) => {
        const t = serverEndpoint(o.server, o.token, '/api/v1/deployments', '--server');
        if (!t) throw new CustomsError('--server (or CUSTOMS_SERVER) names the Customs server');
        const body = await callServer<{ image?: string; scanQueued?: boolean }>(
          t,
          { image, environment: o.env, namespace: o.namespace, service: o.service },
          201,
          'deployment',
        );
        process.stdout.write(
          `${body.image} recorded in ${o.env}${body.scanQueued ? ' (not scanned before: a scan is queued)' : ''}\n`,
        );
      },
    );
}
