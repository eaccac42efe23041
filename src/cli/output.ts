import { accessSync, constants, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CustomsError } from '../errors.js';

/**
 * `--output FILE` is checked before any work starts: a missing folder, a folder given as the
 * file, a path under a file or a place that cannot be written is said at once, not after a scan.
 */
export function checkOutput(path: string): void {
  const full = resolve(path);
  let st;
  try {
    st = statSync(full);
  } catch {
    st = undefined;
  }
  if (st) {
    if (st.isDirectory()) throw new CustomsError('--output: is a folder; name a file', path);
    try {
      accessSync(full, constants.W_OK);
    } catch {
      throw new CustomsError(
        '--output: cannot write this file (permissions or a read-only file system)',
        path,
      );
    }
    return;
  }
  const dir = dirname(full);
  let d;
  try {
    d = statSync(dir);
  } catch {
    throw new CustomsError(`--output: the folder ${dir} does not exist`, path);
  }
  if (!d.isDirectory()) throw new CustomsError(`--output: ${dir} is a file, not a folder`, path);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CustomsError(
      `--output: cannot create files in ${dir} (permissions or a read-only file system)`,
      path,
    );
  }
}

export async function writeOutput(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new CustomsError(`--output: cannot write: ${(err as Error).message}`, path);
  }
}
