import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { dockerArchive, makeTar } from '../helpers/image-writer.js';
import { customs, has } from '../helpers/run.js';

// A Go program built here with Debian's Go toolchain, with two module dependencies served by a
// module proxy on disk (GOPROXY=file://, the proxy protocol's own layout), so its build info holds
// real module lines: the main module, each dependency with its version and sum, the Go version.
const skip = !has('go') ? 'go is not installed (.ci/run installs golang-go)' : false;
let tmp: string;
let archive: string;
let goVersion: string;

const enc = (s: string) => new TextEncoder().encode(s);

/** One module version in GOPROXY layout: @v/list, .info, .mod and the source .zip. */
function publish(proxy: string, path: string, version: string, files: Record<string, string>): void {
  const d = join(proxy, path, '@v');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'list'), `${version}\n`);
  writeFileSync(
    join(d, `${version}.info`),
    JSON.stringify({ Version: version, Time: '2023-01-01T00:00:00Z' }),
  );
  writeFileSync(join(d, `${version}.mod`), `module ${path}\n\ngo 1.18\n`);
  const zip: Record<string, Uint8Array> = {
    [`${path}@${version}/go.mod`]: enc(`module ${path}\n\ngo 1.18\n`),
  };
  for (const [name, text] of Object.entries(files)) zip[`${path}@${version}/${name}`] = enc(text);
  writeFileSync(join(d, `${version}.zip`), zipSync(zip));
}

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(join(tmpdir(), 'customs-go-'));
  const proxy = join(tmp, 'proxy');
  publish(proxy, 'example.com/greet', 'v1.2.3', {
    'greet.go': 'package greet\n\nfunc Hello() string { return "hello" }\n',
  });
  publish(proxy, 'golang.org/x/text', 'v0.3.7', { 'text.go': 'package text\n\nconst Name = "text"\n' });
  const src = join(tmp, 'src');
  mkdirSync(src);
  writeFileSync(
    join(src, 'go.mod'),
    'module example.com/app\n\ngo 1.19\n\nrequire (\n\texample.com/greet v1.2.3\n\tgolang.org/x/text v0.3.7\n)\n',
  );
  writeFileSync(
    join(src, 'main.go'),
    'package main\n\nimport (\n\t"fmt"\n\t"example.com/greet"\n\t"golang.org/x/text"\n)\n\nfunc main() { fmt.Println(greet.Hello(), text.Name) }\n',
  );
  const env = {
    ...process.env,
    GOPROXY: `file://${proxy}`,
    GOSUMDB: 'off',
    GOFLAGS: '-mod=mod',
    GOPATH: join(tmp, 'gopath'),
    GOCACHE: join(tmp, 'gocache'),
    CGO_ENABLED: '0',
  };
  const build = spawnSync('go', ['build', '-o', join(tmp, 'app'), '.'], { cwd: src, env, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  goVersion = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim();
  const layer = await makeTar([
    { name: 'usr/local/bin/app', content: readFileSync(join(tmp, 'app')), mode: 0o755 },
  ]);
  archive = join(tmp, 'app.tar');
  writeFileSync(archive, await dockerArchive({ layers: [layer], tag: 'goapp:1' }));
});
after(() => tmp && rmSync(tmp, { recursive: true, force: true }));

describe('a Go binary built with modules', { skip }, () => {
  it('yields the Go version and every module with its version', () => {
    const r = customs(['sbom', archive, '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const pkgs = (
      JSON.parse(r.stdout).packages as Array<{
        name: string;
        version: string;
        purl: string;
        locations: Array<{ path: string }>;
      }>
    ).filter((p) => p.purl.startsWith('pkg:golang/'));
    assert.deepEqual(pkgs.map((p) => `${p.name}@${p.version}`).sort(), [
      'example.com/greet@v1.2.3',
      'golang.org/x/text@v0.3.7',
      `stdlib@v${goVersion.replace(/^go/, '')}`,
    ]);
    assert.ok(pkgs.every((p) => p.locations[0].path === '/usr/local/bin/app'));
    assert.equal(
      pkgs.find((p) => p.name === 'golang.org/x/text')?.purl,
      'pkg:golang/golang.org/x/text@v0.3.7',
    );
  });
});
