#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { CustomsError } from '../errors.js';
import { VERSION } from '../version.js';
import { COMMAND_MODULES } from './commands.js';

const debug = process.argv.includes('--debug');

function fail(err: unknown): never {
  // Help and version asked for are not failures (scripts check `customs --help`).
  if (err instanceof CommanderError)
    process.exit(
      ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code)
        ? 0
        : err.exitCode || 1,
    );
  if (err instanceof CustomsError) {
    process.stderr.write(`customs: ${err.line()}\n`);
    if (debug)
      process.stderr.write(
        `${err.stack}\n${err.cause instanceof Error ? `caused by: ${err.cause.stack}\n` : ''}`,
      );
    process.exit(1);
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `customs: internal error: ${msg}${debug ? '' : ' (run again with --debug for details)'}\n`,
  );
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(2);
}

const program = new Command()
  .name('customs')
  .description('Container image security scanner')
  .version(VERSION)
  .option('--debug', 'show stack traces of errors')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `customs: ${s}` : s) });

const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
const one = COMMAND_MODULES.find(([names]) => named !== undefined && names.includes(named));
for (const [, load] of one ? [one] : COMMAND_MODULES) (await load())(program);
// Every (sub)command accepts --debug and reports usage errors through fail().
const all = (cmds: readonly Command[]): Command[] => cmds.flatMap((c) => [c, ...all(c.commands)]);
for (const c of all(program.commands)) c.exitOverride().option('--debug', 'show stack traces of errors');

// --output is checked before any command does its work (see output.ts).
program.hook('preAction', async (_p, action) => {
  const out = action.opts().output as unknown;
  if (typeof out === 'string') (await import('./output.js')).checkOutput(out);
  // A progress line while layers are read, when standard error is a terminal and -q is not given.
  if (action.opts().quiet !== true) (await import('../progress.js')).enableProgress();
  const deadline = action.opts().deadline as unknown;
  if (typeof deadline === 'string') {
    const { ownDeadline, startDeadline } = await import('./deadline.js');
    if (!ownDeadline.has(action)) startDeadline(deadline, action.args[0]);
  }
});

process.on('unhandledRejection', fail);
program.parseAsync(process.argv).catch(fail);
