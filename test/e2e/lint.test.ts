import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TRUSTED, lintDockerfile } from '../../src/lint/dockerfile.js';
import { customs } from '../helpers/run.js';
import { schemaErrors } from '../helpers/schemas.js';

// A good multi-stage Dockerfile and a bad single-stage one (both also built by buildah in
// image-checks.test.ts), linted through the CLI as a user would.
export const GOOD = `# syntax=docker/dockerfile:1
FROM golang:1.22.5@sha256:${'a'.repeat(64)} AS build
WORKDIR /src
COPY go.mod main.go ./
RUN go build -o /out/app .

FROM gcr.io/distroless/static-debian12:nonroot@sha256:${'b'.repeat(64)}
COPY --from=build /out/app /app
USER 65532:65532
HEALTHCHECK --interval=30s CMD ["/app", "-health"]
ENTRYPOINT ["/app"]
`;

export const BAD = `FROM example.org/someone/node
ARG NPM_TOKEN
ENV API_KEY=abc123 NODE_ENV=production
RUN apt-get update && apt-get install -y build-essential git
RUN apk add curl
ADD https://example.com/tool.tgz /opt/
COPY . .
USER root
CMD ["node", "app.js"]
`;

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'customs-lint-'));
  mkdirSync(join(tmp, 'good'));
  mkdirSync(join(tmp, 'bad'));
  writeFileSync(join(tmp, 'good', 'Dockerfile'), GOOD);
  writeFileSync(join(tmp, 'good', '.dockerignore'), '.git\n');
  writeFileSync(join(tmp, 'bad', 'Dockerfile'), BAD);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('customs lint', () => {
  it('a good multi-stage Dockerfile has no findings', () => {
    const r = customs(['lint', join(tmp, 'good', 'Dockerfile'), '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).findings, []);
  });

  it('a bad one: every rule with its line and a fix', () => {
    const r = customs(['lint', join(tmp, 'bad', 'Dockerfile'), '--format', 'json']);
    assert.equal(r.status, 0, r.stderr);
    const got = (JSON.parse(r.stdout).findings as Array<{ rule: string; line: number; fix: string }>).map(
      (f) => `${f.line} ${f.rule}`,
    );
    assert.deepEqual(got, [
      '1 CST-DF001',
      '1 CST-DF002',
      '1 CST-DF003',
      '1 CST-DF009',
      '2 CST-DF007',
      '3 CST-DF007',
      '4 CST-DF004',
      '4 CST-DF005',
      '4 CST-DF005',
      '5 CST-DF005',
      '6 CST-DF006',
      '7 CST-DF010',
      '8 CST-DF008',
    ]);
  });

  it('SARIF maps each finding to its Dockerfile line and is valid', () => {
    const out = join(tmp, 'lint.sarif');
    const r = customs(['lint', join(tmp, 'bad', 'Dockerfile'), '--format', 'sarif', '--output', out]);
    assert.equal(r.status, 0, r.stderr);
    const sarif = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(schemaErrors('sarif-2.1.0', sarif), []);
    const res = sarif.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'CST-DF006');
    assert.equal(res.locations[0].physicalLocation.region.startLine, 6);
    assert.match(res.locations[0].physicalLocation.artifactLocation.uri, /bad\/Dockerfile$/);
  });

  it('--fail-on sets the exit status; --trusted widens the trusted sources', () => {
    const file = join(tmp, 'bad', 'Dockerfile');
    assert.equal(customs(['lint', file, '--fail-on', 'high', '-f', 'json']).status, 1);
    assert.equal(customs(['lint', file, '--fail-on', 'critical', '-f', 'json']).status, 0);
    assert.equal(customs(['lint', file, '--exit-code', '3', '-f', 'json']).status, 3);
    const trusted = JSON.parse(
      customs(['lint', file, '--trusted', 'example.org/someone/', '-f', 'json']).stdout,
    );
    assert.ok(!trusted.findings.some((f: { rule: string }) => f.rule === 'CST-DF003'));
  });

  it('rules in detail', () => {
    const ctx = { trusted: DEFAULT_TRUSTED, hasDockerignore: true };
    const rules = (text: string) => lintDockerfile(text, ctx).map((f) => f.rule);
    // A later stage that starts FROM an earlier one is not a base image; scratch neither.
    assert.ok(
      !rules('FROM alpine:3.20 AS a\nFROM a\nUSER 1000\nHEALTHCHECK CMD true\n').includes('CST-DF001'),
    );
    assert.ok(!rules('FROM scratch\nCOPY app /\nUSER 1000\nHEALTHCHECK NONE\n').includes('CST-DF001'));
    // apt with both flags is clean; dnf needs clean all; ADD with a checksum is fine.
    assert.ok(
      !rules(
        'FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER 1\nHEALTHCHECK CMD true\n',
      ).includes('CST-DF005'),
    );
    assert.ok(rules('FROM fedora:40\nRUN dnf install -y curl\nUSER 1\n').includes('CST-DF005'));
    assert.ok(
      !rules('FROM alpine:3.20\nADD --checksum=sha256:abc https://x/y /y\nUSER 1\n').includes('CST-DF006'),
    );
    // An empty ENV secret is not a secret; a multi-stage build with tools in the first stage is fine.
    assert.ok(!rules('FROM alpine:3.20\nENV PASSWORD=""\nUSER 1\n').includes('CST-DF007'));
    assert.ok(
      !rules(
        'FROM debian:12 AS b\nRUN apt-get install -y gcc\nFROM scratch\nCOPY --from=b /x /x\nUSER 1\n',
      ).includes('CST-DF004'),
    );
    assert.throws(() => lintDockerfile('# just a comment\n', ctx), /no FROM/);
  });

  it('a missing file is one clear line', () => {
    const r = customs(['lint', join(tmp, 'nope', 'Dockerfile')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^customs: .*nope\/Dockerfile: no such file\n$/);
  });
});
