import { createReadStream } from 'node:fs';
import { lstat, opendir, readFile, readlink } from 'node:fs/promises';
import { ProbeSet } from '../probe.js';
import { join } from 'node:path';
import { CustomsError } from '../../errors.js';
import type { Wants } from '../layer-reader.js';
import { fileLimit, tooLarge, type Limits } from '../limits.js';
import type { FileEntry, OpenedImage } from '../model.js';

/**
 * A plain root filesystem folder, seen as a one-layer image. Symlinks are recorded, never followed
 * on the host, so a link to /etc/passwd resolves inside the folder, not on this machine.
 */
export async function openRootfs(
  dir: string,
  target: string,
  wants: Wants,
  limits: Limits,
  skip?: (path: string, isDir: boolean) => boolean,
): Promise<OpenedImage> {
  const files = new Map<string, FileEntry>();
  const warnings: string[] = [];
  const stack: string[] = [''];
  while (stack.length) {
    const rel = stack.pop()!;
    let handle;
    try {
      handle = await opendir(join(dir, rel));
    } catch (err) {
      warnings.push(`${rel || '/'}: ${(err as Error).message}`);
      continue;
    }
    for await (const d of handle) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (skip?.(path, d.isDirectory())) continue;
      const abs = join(dir, path);
      if (d.isDirectory()) {
        files.set(path, { type: 'dir', size: 0, mode: 0o755 });
        stack.push(path);
      } else if (d.isSymbolicLink()) {
        files.set(path, { type: 'symlink', size: 0, mode: 0o777, linkname: await readlink(abs) });
      } else if (d.isFile()) {
        const st = await lstat(abs);
        const fe: FileEntry = { type: 'file', size: st.size, mode: st.mode & 0o7777 };
        if (wants(path)) {
          const max = fileLimit(limits, wants.database?.(path) ?? false);
          if (st.size > max) warnings.push(tooLarge(path, st.size, max));
          else fe.content = () => readFile(abs);
        } else if (wants.probes?.length) {
          const probes = new ProbeSet(wants.probes, path, fe.mode, fe.size);
          if (!probes.empty) {
            // Small files (most of them) in one read; large ones streamed, stopping early once
            // the probes have what they need.
            if (st.size <= 256 * 1024) probes.push(await readFile(abs));
            else
              for await (const c of createReadStream(abs, { highWaterMark: 256 * 1024 })) {
                probes.push(c as Buffer);
                if (probes.done) break;
              }
            fe.probes = probes.finish();
            warnings.push(...probes.warnings);
          }
        }
        files.set(path, fe);
      } else {
        files.set(path, { type: 'other', size: 0, mode: 0 });
      }
    }
  }
  if (files.size === 0) throw new CustomsError('the folder is empty');
  return {
    metadata: {
      target,
      kind: 'rootfs',
      name: target.replace(/^(dir|rootfs):/, ''),
      repoTags: [],
      labels: {},
      history: [],
      layers: [{ index: 0 }],
      warnings,
    },
    layers: [{ info: { index: 0 }, files, whiteouts: new Set(), opaqueDirs: new Set() }],
  };
}
