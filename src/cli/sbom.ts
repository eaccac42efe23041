import type { Command } from 'commander';
import { catalogImage, wantedBy } from '../catalog/index.js';
import { CustomsError } from '../errors.js';
import { openImage } from '../image/open.js';
import { sbomFormats } from '../report/sbom-formats.js';
import { VERSION } from '../version.js';
import { addRemoteOptions, describeRemote, remoteOptions, type RemoteFlags } from './remote-options.js';
import { addPlatformOption, maxLayerSizeFlag, platformFlag } from './scan-flags.js';
import { compareAttested } from '../sbom/attested.js';
import { writeOutput } from './output.js';
import { maskImageMetadata } from '../secrets/mask.js';
import { Redactions } from '../secrets/redact.js';
import { collectSecrets, secretProbe } from '../secrets/scan.js';
import { setStage } from '../stage.js';

interface SbomOptions extends RemoteFlags {
  format: string;
  output?: string;
  platform?: string;
  maxLayerSize?: string;
  quiet?: boolean;
}

export function registerSbom(program: Command): void {
  addPlatformOption(
    addRemoteOptions(program.command('sbom')),
    'platform to pick from a multi-platform image (default: this host)',
  )
    .description('list every package in an image (docker/OCI archive, OCI layout, or root filesystem folder)')
    .argument(
      '<target>',
      'an image reference (alpine:3.19, ghcr.io/org/app@sha256:…), docker-daemon:NAME, podman:NAME, docker-archive:FILE, oci:DIR, oci-archive:FILE, dir:DIR, or a path (kind guessed)',
    )
    .option('-f, --format <format>', `output format: ${Object.keys(sbomFormats).join(', ')}`, 'table')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option(
      '--max-layer-size <size>',
      'largest uncompressed layer accepted, e.g. 16G (decompression-bomb guard)',
    )
    .option('-q, --quiet', 'no warnings on standard error')
    .option('--deadline <seconds>', 'stop with an error when reading the image takes longer than this', '600')
    .action(async (target: string, opts: SbomOptions) => {
      const write = sbomFormats[opts.format];
      if (!write)
        throw new CustomsError(
          `unknown format "${opts.format}"; use one of ${Object.keys(sbomFormats).join(', ')}`,
        );
      const limits = maxLayerSizeFlag(opts.maxLayerSize);
      const platform = platformFlag(opts.platform);
      setStage('reading the image');
      // The secret probe runs here too: a secret a file holds is masked where the metadata (a
      // build step's history) or a path repeats it, as in a scan's reports.
      const wants = wantedBy();
      wants.probes = [...(wants.probes ?? []), secretProbe()];
      const image = await openImage(target, {
        wants,
        platform,
        limits,
        ...(await remoteOptions(opts)),
      });
      setStage('cataloging packages');
      const inventory = await catalogImage(image);
      compareAttested(image, inventory);
      const redactions = new Redactions();
      await collectSecrets(image, redactions);
      maskImageMetadata(image.metadata, redactions);
      redactions.apply(inventory);
      if (!opts.quiet) describeRemote(image.metadata);
      if (!opts.quiet) {
        for (const w of [...image.metadata.warnings, ...inventory.warnings])
          process.stderr.write(`customs: warning: ${w}\n`);
      }
      const text = write({
        image: image.metadata,
        inventory,
        tool: { name: 'customs', version: VERSION },
      });
      if (opts.output) await writeOutput(opts.output, text);
      else process.stdout.write(text);
    });
}
