import { readFileSync, statSync } from 'node:fs';
import { CustomsError } from './errors.js';

/**
 * A file the user named (SBOM, policy, ignore file, VEX, Dockerfile…): only a regular file of a
 * sane size is read, so `/dev/zero`, a FIFO or a 50 GB file gives a clear error, not a hang.
 */
export function readUserFile(path: string, max = 256 * 1024 * 1024): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CustomsError('no such file', path);
  }
  if (!st.isFile())
    throw new CustomsError(
      st.isDirectory() ? 'is a folder, not a file' : 'not a regular file (a device, pipe or socket)',
      path,
    );
  if (st.size > max) throw new CustomsError(`too large (${st.size} bytes; at most ${max})`, path);
  return readFileSync(path, 'utf8');
}

/**
 * A key file (PEM) named on the command line: bounded like any user file (a key named `/dev/zero`
 * must not hang the command), one clear line naming it.
 */
export function readKeyFile(file: string): string {
  return readUserFile(file, 1024 * 1024);
}
