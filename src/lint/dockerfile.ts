import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import type { SeverityLevel } from '../model/severity.js';
import { parseReference } from '../image/registry/reference.js';
import { SECRET_NAME } from '../secrets/rules.js';

/**
 * Dockerfile best-practice checks (`customs lint Dockerfile`), on dockerfile-ast's syntax tree.
 * Each rule is one entry of RULES: an id, a severity, what it checks and how to fix it.
 */

export interface LintFinding {
  rule: string;
  severity: SeverityLevel;
  /** 1-based line of the instruction. */
  line: number;
  message: string;
  fix: string;
}

export interface LintContext {
  /** Registries (or name prefixes) trusted for base images. */
  trusted: string[];
  /** Whether a .dockerignore stands beside the Dockerfile. */
  hasDockerignore: boolean;
}

interface Stage {
  from: Instruction & {
    getImageName(): string | null;
    getImageTag(): string | null;
    getImageDigest(): string | null;
    getBuildStage(): string | null;
    getImage(): string | null;
    getRegistry(): string | null;
  };
  name?: string;
  instructions: Instruction[];
}

interface Rule {
  id: string;
  severity: SeverityLevel;
  title: string;
  fix: string;
  check(stages: Stage[], ctx: LintContext): Array<{ line: number; message: string }>;
}

/** Where Docker Official Images and the big vendors' curated images live. */
export const DEFAULT_TRUSTED = [
  'docker.io/library/',
  'gcr.io/distroless/',
  'cgr.dev/chainguard/',
  'mcr.microsoft.com/',
  'registry.access.redhat.com/',
  'registry.redhat.io/',
  'public.ecr.aws/docker/library/',
  'quay.io/centos/',
];

const line = (i: Instruction) => i.getRange().start.line + 1;
const args = (i: Instruction) => i.getArgumentsContent() ?? '';
const keyword = (i: Instruction) => i.getKeyword().toUpperCase();
const runs = (s: Stage) => s.instructions.filter((i) => keyword(i) === 'RUN');

/** `alpine` → `docker.io/library/alpine`, by docker's normalisation (the registry client's). */
function qualified(image: string): string {
  try {
    const ref = parseReference(image);
    return `${ref.domain}/${ref.repository}`;
  } catch {
    return image;
  }
}

const BUILD_TOOLS =
  /\b(build-essential|gcc|g\+\+|clang|make|cmake|autoconf|automake|libtool|golang|rustc|cargo|maven|gradle|openjdk-\d+-jdk|nodejs-dev|python3?-dev|musl-dev|linux-headers|git)\b/;
/** Credential-like names; build arguments named …AUTH count too (NPM_AUTH, PIP_AUTH). */
const secretName = (n: string) => SECRET_NAME.test(n) || /AUTH$/i.test(n);

export const RULES: Rule[] = [
  {
    id: 'CST-DF001',
    severity: 'HIGH',
    title: 'Base image is untagged or uses the latest tag',
    fix: 'Pin a specific version tag (e.g. alpine:3.20), and update it deliberately.',
    check: (stages) =>
      externalBases(stages)
        .filter(
          (s) => !s.from.getImageDigest() && (!s.from.getImageTag() || s.from.getImageTag() === 'latest'),
        )
        .map((s) => ({
          line: line(s.from),
          message: `FROM ${s.from.getImage()}: ${s.from.getImageTag() ? 'the latest tag' : 'no tag, so latest'} moves under you; builds are not reproducible`,
        })),
  },
  {
    id: 'CST-DF002',
    severity: 'LOW',
    title: 'Base image not pinned by digest',
    fix: 'Add the digest (FROM image:tag@sha256:…) and let a bot update it.',
    check: (stages) =>
      externalBases(stages)
        .filter((s) => !s.from.getImageDigest())
        .map((s) => ({
          line: line(s.from),
          message: `FROM ${s.from.getImage()}: a tag can be re-pushed; a digest cannot`,
        })),
  },
  {
    id: 'CST-DF003',
    severity: 'MEDIUM',
    title: 'Base image from an untrusted source',
    fix: 'Use an official or vendor-curated image, or add its registry to the trusted list (--trusted).',
    check: (stages, ctx) =>
      externalBases(stages)
        .filter((s) => !ctx.trusted.some((t) => qualified(fullName(s)).startsWith(t)))
        .map((s) => ({
          line: line(s.from),
          message: `FROM ${s.from.getImage()} is not from a trusted source (${ctx.trusted.slice(0, 3).join(', ')}…)`,
        })),
  },
  {
    id: 'CST-DF004',
    severity: 'MEDIUM',
    title: 'Single-stage build leaves build tools in the image',
    fix: 'Build in a first stage and COPY --from it only the result into a minimal final stage.',
    check: (stages) => {
      if (stages.length !== 1) return [];
      return runs(stages[0])
        .filter(
          (r) =>
            /\b(apt-get|apt|apk|yum|dnf|microdnf|zypper)\b.*\b(install|add)\b/.test(args(r)) &&
            BUILD_TOOLS.test(args(r)),
        )
        .map((r) => ({
          line: line(r),
          message: `build tools (${BUILD_TOOLS.exec(args(r))![1]}) installed in the only stage stay in the shipped image`,
        }));
    },
  },
  {
    id: 'CST-DF005',
    severity: 'LOW',
    title: 'Package manager leaves caches or recommended packages behind',
    fix: 'apt-get install --no-install-recommends … && rm -rf /var/lib/apt/lists/*; apk add --no-cache; dnf/yum … && dnf clean all.',
    check: (stages) =>
      stages.flatMap((s) =>
        runs(s).flatMap((r) => {
          const a = args(r);
          const out: Array<{ line: number; message: string }> = [];
          if (/\bapt-get\b[^;&|]*\binstall\b/.test(a)) {
            if (!/--no-install-recommends/.test(a))
              out.push({
                line: line(r),
                message: 'apt-get install without --no-install-recommends pulls in packages nobody asked for',
              });
            if (!/rm\s+-rf?\s+\/var\/lib\/apt\/lists/.test(a))
              out.push({
                line: line(r),
                message:
                  'apt-get install without removing /var/lib/apt/lists in the same RUN keeps the package lists in the layer',
              });
          }
          if (/\bapk\b[^;&|]*\badd\b/.test(a) && !/--no-cache/.test(a))
            out.push({ line: line(r), message: 'apk add without --no-cache keeps the index in the layer' });
          if (
            /\b(yum|dnf|microdnf)\b[^;&|]*\binstall\b/.test(a) &&
            !/\b(yum|dnf|microdnf) clean all\b/.test(a)
          )
            out.push({
              line: line(r),
              message: `${/\b(yum|dnf|microdnf)\b/.exec(a)![1]} install without "clean all" in the same RUN keeps its cache in the layer`,
            });
          return out;
        }),
      ),
  },
  {
    id: 'CST-DF006',
    severity: 'MEDIUM',
    title: 'ADD fetches a URL',
    fix: 'Download with curl/wget and verify a checksum (or ADD --checksum=sha256:…), so the content is known.',
    check: (stages) =>
      stages.flatMap((s) =>
        s.instructions
          .filter(
            (i) =>
              keyword(i) === 'ADD' &&
              /(^|\s)https?:\/\//.test(args(i)) &&
              !/--checksum=/.test(i.getTextContent?.() ?? ''),
          )
          .map((i) => ({
            line: line(i),
            message: `ADD ${args(i).split(/\s+/)[0]}: remote content is neither pinned nor verified`,
          })),
      ),
  },
  {
    id: 'CST-DF007',
    severity: 'HIGH',
    title: 'Secret in ENV or ARG',
    fix: 'Pass secrets at build time with RUN --mount=type=secret, and at run time from the orchestrator; never in ENV/ARG (they stay in the image config and history).',
    check: (stages) =>
      stages.flatMap((s) =>
        s.instructions.flatMap((i) => {
          const kw = keyword(i);
          if (kw === 'ENV') {
            const envs = (
              i as unknown as { getProperties(): Array<{ getName(): string; getValue(): string | null }> }
            ).getProperties();
            return envs
              .filter((p) => secretName(p.getName()) && (p.getValue() ?? '').length > 0)
              .map((p) => ({
                line: line(i),
                message: `ENV ${p.getName()} holds a secret value; it is readable in the image config by anyone who pulls the image`,
              }));
          }
          if (kw === 'ARG') {
            const p = (i as unknown as { getProperty(): { getName(): string } | null }).getProperty();
            return p && secretName(p.getName())
              ? [
                  {
                    line: line(i),
                    message: `ARG ${p.getName()} looks like a secret; build arguments are recorded in the image history`,
                  },
                ]
              : [];
          }
          return [];
        }),
      ),
  },
  {
    id: 'CST-DF008',
    severity: 'MEDIUM',
    title: 'Runs as root',
    fix: 'Add a USER with a non-root user (and numeric UID) in the final stage.',
    check: (stages) => {
      const last = stages[stages.length - 1];
      if (!last) return [];
      const users = last.instructions.filter((i) => keyword(i) === 'USER');
      const final = users[users.length - 1];
      if (!final)
        return [
          { line: line(last.from), message: 'the final stage sets no USER, so the container runs as root' },
        ];
      return /^(root|0)(:.*)?$/.test(args(final).trim())
        ? [{ line: line(final), message: 'USER root: the container runs as root' }]
        : [];
    },
  },
  {
    id: 'CST-DF009',
    severity: 'LOW',
    title: 'No HEALTHCHECK',
    fix: 'Add HEALTHCHECK CMD … so the runtime can tell a hung container from a healthy one.',
    check: (stages) => {
      const last = stages[stages.length - 1];
      if (!last || stages.some((s) => s.instructions.some((i) => keyword(i) === 'HEALTHCHECK'))) return [];
      return [{ line: line(last.from), message: 'the image declares no HEALTHCHECK' }];
    },
  },
  {
    id: 'CST-DF010',
    severity: 'MEDIUM',
    title: 'Copies the whole build context without a .dockerignore',
    fix: 'Add a .dockerignore (.git, .env, secrets, node_modules…) or copy only what the image needs.',
    check: (stages, ctx) =>
      ctx.hasDockerignore
        ? []
        : stages.flatMap((s) =>
            s.instructions
              .filter(
                (i) =>
                  ['COPY', 'ADD'].includes(keyword(i)) &&
                  !/--from=/.test(i.getTextContent?.() ?? '') &&
                  /^\.\/?\s/.test(args(i)),
              )
              .map((i) => ({
                line: line(i),
                message: `${keyword(i)} ${args(i)} sends the whole context (.git, .env, keys…) into the image and no .dockerignore filters it`,
              })),
          ),
  },
];

/** The base image's name with its registry, without tag or digest (dockerfile-ast splits them). */
const fullName = (s: Stage) => [s.from.getRegistry(), s.from.getImageName()].filter(Boolean).join('/');

/** Stages whose base is an image from a registry (not scratch, not an earlier stage). */
function externalBases(stages: Stage[]): Stage[] {
  const names = new Set(stages.map((s) => s.name?.toLowerCase()).filter(Boolean));
  return stages.filter((s) => {
    const image = s.from.getImageName();
    return !!image && image !== 'scratch' && !names.has(image.toLowerCase()) && !image.includes('$');
  });
}

export function lintDockerfile(text: string, ctx: LintContext): LintFinding[] {
  const doc = DockerfileParser.parse(text);
  const stages: Stage[] = [];
  for (const i of doc.getInstructions()) {
    if (keyword(i) === 'FROM') {
      const from = i as Stage['from'];
      stages.push({ from, name: from.getBuildStage() ?? undefined, instructions: [] });
    } else stages[stages.length - 1]?.instructions.push(i);
  }
  if (!stages.length) throw new Error('no FROM instruction: not a Dockerfile');
  const out: LintFinding[] = [];
  for (const r of RULES)
    for (const f of r.check(stages, ctx))
      out.push({ rule: r.id, severity: r.severity, line: f.line, message: f.message, fix: r.fix });
  return out.sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}
