/* eslint-disable no-control-regex -- the terminal escape sequences are what is tested */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CLI, shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

// The progress line is for people at a terminal: util-linux `script` gives the CLI a real
// pseudo-terminal, as a shell would; through a pipe (CI logs, scripts) nothing is drawn.
const image = shared('images/docker-archive/trivy-alpine-310.tar.gz');

function inTerminal(args: string[], env: Record<string, string>): string {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

describe(
  'progress on standard error',
  { skip: has('script') ? false : 'util-linux script is needed' },
  () => {
    it('layers done of total, bytes and rate at a terminal; cleared before the report; none with -q or through a pipe', () => {
      const tmp = mkdtempSync(join(tmpdir(), 'customs-progress-'));
      try {
        const env = { CUSTOMS_DB: join(tmp, 'db') };
        assert.equal(customs(['db', 'import', shared('advisories/alpine-secdb'), '-q'], { env }).status, 0);
        const out = inTerminal(['image', image, '--format', 'json', '--output', join(tmp, 'r.json')], env);
        assert.match(out, /\r\x1b\[Kcustoms: reading the image · layers 1\/1 · \d+\.\d MiB · \d+\.\d MiB\/s/);
        // The line is wiped once reading ends: the last thing drawn is the clearing sequence.
        assert.match(out, /MiB\/s\r\x1b\[K$/, JSON.stringify(out.slice(-80)));
        assert.doesNotMatch(
          inTerminal(['image', image, '-q', '--format', 'json', '--output', join(tmp, 'q.json')], env),
          /layers/,
        );
        const piped = customs(['image', image, '--format', 'json'], { env });
        assert.equal(piped.status, 0, piped.stderr);
        assert.doesNotMatch(piped.stderr, /layers|MiB\/s/);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  },
);
