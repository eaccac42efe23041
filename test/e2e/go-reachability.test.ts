import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { goBuildInfoProbe } from '../../src/catalog/golang.js';
import { goSymbolsProbe, symbolOf } from '../../src/catalog/go-symbols.js';
import { shared } from '../helpers/paths.js';
import { customs, has } from '../helpers/run.js';

// Go reachability: two programs built here with Debian's Go toolchain, one calling html/template's
// Template.Execute (named by GO-2023-1751 and others, which affect this toolchain's stdlib) and
// one that does not. Matched by version both carry the same stdlib findings; by symbol, only the
// first keeps the html/template ones. GO-2023-1840 (runtime) names no symbols: it stays in both.
const skip = !has('go') && 'Go is not installed (.ci/run installs golang-go)';
let tmp: string;
let env: Record<string, string>;
const roots: Record<string, string> = {};

const PROGRAMS = {
  template: `package main

import (
	"html/template"
	"os"
)

func main() {
	t := template.Must(template.New("x").Parse("<p>{{.}}</p>\\n"))
	_ = t.Execute(os.Stdout, "hello")
}
`,
  plain: `package main

import "os"

func main() { os.Stdout.WriteString("hello\\n") }
`,
};

interface Result {
  findings: Array<{ id: string; aliases: string[] }>;
  suppressed: Array<{
    id: string;
    aliases: string[];
    suppression: { by: string; reason: string; justification?: string };
  }>;
}
const has_ = (list: Array<{ id: string; aliases: string[] }>, id: string) =>
  list.find((f) => f.id === id || f.aliases.includes(id));

function scan(name: string, ...extra: string[]): Result {
  const r = customs(['rootfs', roots[name], '--format', 'json', '-q', ...extra], { env });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return JSON.parse(r.stdout) as Result;
}

describe('Go reachability from the binary symbol table', { skip, timeout: 300_000 }, () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'customs-goreach-'));
    env = { CUSTOMS_DB: join(tmp, 'customs.db') };
    const imp = customs(['db', 'import', shared('advisories/go-osv'), '-q'], { env });
    assert.equal(imp.status, 0, imp.stderr);
    const goEnv = {
      ...process.env,
      GOCACHE: join(tmp, 'gocache'),
      GOPATH: join(tmp, 'gopath'),
      GO111MODULE: 'off',
      GOFLAGS: '',
    };
    for (const [name, src] of Object.entries(PROGRAMS)) {
      writeFileSync(join(tmp, `${name}.go`), src);
      // -s -w: stripped, as release images ship; the pcln table stays (the runtime needs it).
      const r = spawnSync('go', ['build', '-ldflags=-s -w', '-o', join(tmp, name), join(tmp, `${name}.go`)], {
        env: goEnv,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      roots[name] = join(tmp, `root-${name}`);
      mkdirSync(join(roots[name], 'usr/local/bin'), { recursive: true });
      copyFileSync(join(tmp, name), join(roots[name], 'usr/local/bin/app'));
    }
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('only the program that calls the vulnerable function keeps the finding', () => {
    const uses = scan('template');
    const plain = scan('plain');
    assert.ok(has_(uses.findings, 'GO-2023-1751'), 'Template.Execute is in the binary');
    assert.equal(has_(plain.findings, 'GO-2023-1751'), undefined);
    const set = has_(plain.suppressed, 'GO-2023-1751') as Result['suppressed'][number];
    assert.ok(set, 'set aside, not dropped');
    assert.equal(set.suppression.by, 'reachability');
    assert.equal(set.suppression.justification, 'vulnerable_code_not_present');
    assert.match(
      set.suppression.reason,
      /none of html\/template\.Template\.Execute, html\/template\.Template\.ExecuteTemplate/,
    );
    // No symbols named: the whole package counts, and every Go program has a runtime.
    assert.ok(has_(uses.findings, 'GO-2023-1840'));
    assert.ok(has_(plain.findings, 'GO-2023-1840'));
    assert.ok(plain.findings.length < uses.findings.length);
  });

  it('--go-reachability off matches by version alone; --show-suppressed says why in the table', () => {
    const off = scan('plain', '--go-reachability', 'off');
    assert.ok(has_(off.findings, 'GO-2023-1751'));
    assert.equal(off.suppressed.length, 0);
    const table = customs(['rootfs', roots.plain, '--show-suppressed', '-q'], { env });
    assert.match(
      table.stdout,
      /reachability: vulnerable_code_not_present: none of html\/template\.Template\.Execute/,
    );
    const bad = customs(['rootfs', roots.plain, '--go-reachability', 'maybe'], { env });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--go-reachability must be on or off/);
  });

  it('a first chunk of two bytes (a tar stream may cut there) hides nothing from the probes', () => {
    const bin = readFileSync(join(tmp, 'template'));
    for (const factory of [goSymbolsProbe, goBuildInfoProbe]) {
      const probe = factory.create('usr/local/bin/app');
      probe.push(bin.subarray(0, 2));
      for (let i = 2; i < bin.length; i += 65536) probe.push(bin.subarray(i, i + 65536));
      assert.ok(probe.finish(), factory.name);
    }
  });

  it('the symbol lists stay out of the reports', () => {
    const r = customs(['rootfs', roots.template, '--format', 'json', '-q'], { env });
    assert.doesNotMatch(r.stdout, /"symbols"/);
    const s = customs(['sbom', `dir:${roots.template}`, '--format', 'json', '-q'], { env });
    assert.equal(s.status, 0, s.stderr);
    assert.doesNotMatch(s.stdout, /"symbols"/);
  });
});

describe('Go function names as advisories write symbols', () => {
  it('methods, pointer receivers, type parameters and method values', () => {
    assert.deepEqual(symbolOf('net/http.(*Client).Do'), { pkg: 'net/http', symbol: 'Client.Do' });
    assert.deepEqual(symbolOf('html/template.(*Template).Execute'), {
      pkg: 'html/template',
      symbol: 'Template.Execute',
    });
    assert.deepEqual(symbolOf('golang.org/x/net/http2.(*Framer).ReadFrame'), {
      pkg: 'golang.org/x/net/http2',
      symbol: 'Framer.ReadFrame',
    });
    assert.deepEqual(symbolOf('github.com/a/b.Map[...]'), { pkg: 'github.com/a/b', symbol: 'Map' });
    assert.deepEqual(symbolOf('github.com/a/b.(*List[...]).Push'), {
      pkg: 'github.com/a/b',
      symbol: 'List.Push',
    });
    assert.deepEqual(symbolOf('net/http.(*Server).Serve-fm'), { pkg: 'net/http', symbol: 'Server.Serve' });
    assert.deepEqual(symbolOf('gopkg.in/yaml%2ev3.Unmarshal'), {
      pkg: 'gopkg.in/yaml.v3',
      symbol: 'Unmarshal',
    });
    assert.equal(symbolOf('nodot'), undefined);
  });
});
