import type { Command } from 'commander';

type Register = (program: Command) => void;
/**
 * Each command module with the top-level commands it adds, loaded on demand: a run loads only the
 * module of the command it runs (loading all of them with their dependencies took about 0.3 s of
 * every start). Help and unknown commands load all, in this order, which `customs --help` lists.
 * test/e2e/cli-commands.test.ts checks that these names are the commands the modules register.
 */
export const COMMAND_MODULES: Array<[string[], () => Promise<Register>]> = [
  [['image', 'rootfs', 'fs', 'sbom-scan'], async () => (await import('./image.js')).registerImage],
  [['sbom'], async () => (await import('./sbom.js')).registerSbom],
  [['db'], async () => (await import('./db.js')).registerDb],
  [['cache'], async () => (await import('./cache.js')).registerCache],
  [['lint'], async () => (await import('./lint.js')).registerLint],
  [['compare'], async () => (await import('./compare.js')).registerCompare],
  [['policy'], async () => (await import('./policy.js')).registerPolicy],
  [['advise'], async () => (await import('./advise.js')).registerAdvise],
  [['server', 'worker'], async () => (await import('./server.js')).registerServer],
  [['deploy'], async () => (await import('./deploy.js')).registerDeploy],
  [
    ['approve', 'reject', 'revoke', 'request-approval', 'verify'],
    async () => (await import('./gate.js')).registerGate,
  ],
];
