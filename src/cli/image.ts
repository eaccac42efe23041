import type { Command } from 'commander';
import type { ImageOptions } from './image-run.js';
import { SCAN_FORMAT_NAMES } from '../report/scan-format-names.js';
import { addAttestOptions } from './attest.js';
import { addRemoteOptions } from './remote-options.js';
import { addExceptionOptions, addGateOptions, addScanContextOptions } from './scan-flags.js';

/** Output formats of the scan commands (the modules load only when a scan runs). */
const FORMATS = SCAN_FORMAT_NAMES;

const run = async (target: string, opts: ImageOptions, fromSbom = false, sourceTree = false) =>
  (await import('./image-run.js')).run(target, opts, fromSbom, sourceTree);

function options(cmd: Command): Command {
  return (
    addGateOptions(addExceptionOptions(addScanContextOptions(addRemoteOptions(cmd))), {
      exitCode: 'exit with this status when vulnerabilities remain after the filters',
      failOn: 'fail only for this severity or worse (exit 1 unless --exit-code says otherwise)',
    })
      // No default here: whether --format was given decides what standard output gets (outputTargets).
      .option(
        '-f, --format <format>',
        `output format: ${FORMATS.join(', ')} (default: table); given with --output FORMAT=FILE, it still goes to standard output`,
      )
      .option(
        '-o, --output <target>',
        'write to a file instead of standard output; FORMAT=FILE (repeatable) writes several reports from one scan (standard output then gets --format only when it is given), FORMAT alone to standard output',
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option('--severity <levels>', 'only these severities, e.g. HIGH,CRITICAL')
      .option('--ignore-unfixed', 'only vulnerabilities with a fixed version')
      .option(
        '--fail-on-stale-db',
        'fail (as --fail-on does) when the database is older than --db-max-age or a source failed',
      )
      .option('--db-max-age <days>', 'a database older than this many days is stale: a warning', '7')
      .option('--env <env>', 'production, staging or dev (changes the ranking)', 'production')
      .option('--max-layer-size <size>', 'largest uncompressed layer accepted, e.g. 16G')
      .option(
        '--use-attested-sbom',
        "registry images: trust the image's SBOM attestation instead of reading its layers",
      )
      .option('--scanners <list>', 'what to look for: vuln, secret, config (comma-separated)', 'vuln,secret')
      .option('--show-suppressed', 'list suppressed findings in the table too (JSON always has them)')
      .option('--explain', "the table says each finding's risk in words: severity, KEV, EPSS, fix, exposure")
      .option(
        '--go-reachability <on|off>',
        'on: a Go finding none of whose vulnerable functions is in the binary is not_affected (suppressed)',
        'on',
      )
      .option('-q, --quiet', 'no warnings on standard error')
      .option('--deadline <seconds>', 'stop with an error when the scan takes longer than this', '600')
      .option('--report-to <url>', 'also send the result to a Customs server (default: $CUSTOMS_SERVER)')
      .option('--token <token>', 'API token for --report-to (default: $CUSTOMS_TOKEN)')
  );
}

export function registerImage(program: Command): void {
  addAttestOptions(
    options(
      program
        .command('image')
        .description('scan an image for vulnerabilities (registry, daemon, archive, OCI layout or folder)')
        .argument(
          '<target>',
          'alpine:3.19, registry/repo@sha256:…, docker-daemon:NAME, podman:NAME, docker-archive:FILE, oci:DIR, oci-archive:FILE or a path',
        ),
    ),
  ).action((target: string, opts: ImageOptions) => run(target, opts));
  options(
    program
      .command('rootfs')
      .description('scan a root filesystem folder for vulnerabilities')
      .argument('<dir>', 'the folder'),
  ).action((dir: string, opts: ImageOptions) => run(`dir:${dir}`, opts));
  options(
    program
      .command('fs')
      .description('scan a source tree: lockfiles and installed packages (like trivy fs)')
      .argument('<dir>', 'the project folder')
      .option(
        '--skip-dirs <list>',
        'folders to leave out, comma-separated (a name anywhere, or a path from the top)',
      )
      .option('--skip-files <list>', 'files to leave out, comma-separated'),
  ).action((dir: string, opts: ImageOptions) => run(`dir:${dir}`, opts, false, true));
  options(
    program
      .command('sbom-scan')
      .description('scan an existing CycloneDX or SPDX JSON SBOM for vulnerabilities')
      .argument('<file>', 'the SBOM'),
  ).action((file: string, opts: ImageOptions) => run(file, opts, true));
}
