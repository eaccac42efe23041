import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { COMMAND_MODULES } from '../../src/cli/commands.js';
import { customs } from '../helpers/run.js';

describe('the CLI loads only the module of the command it runs', () => {
  it('the command table names exactly the top-level commands each module registers', async () => {
    for (const [names, load] of COMMAND_MODULES) {
      const program = new Command();
      (await load())(program);
      assert.deepEqual(
        program.commands.map((c) => c.name()).sort(),
        [...names].sort(),
        `module of ${names[0]}`,
      );
    }
  });

  it('a command from a module with several (rootfs, worker, verify) still runs and shows its help', () => {
    for (const cmd of ['rootfs', 'worker', 'verify', 'sbom-scan', 'request-approval']) {
      const r = customs([cmd, '--help']);
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: customs ${cmd} `), cmd);
    }
  });

  it('help and an unknown command still see every command', () => {
    const help = customs(['--help']);
    assert.equal(help.status, 0);
    for (const [names] of COMMAND_MODULES)
      for (const n of names) assert.match(help.stdout, new RegExp(`\\n  ${n} `));
    const unknown = customs(['imagee', 'x']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown command 'imagee'/);
    assert.match(unknown.stderr, /Did you mean image\?/);
  });
});
