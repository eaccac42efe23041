import { CustomsError } from '../errors.js';
import { trustedKey, type TrustedKey } from '../gate/cosign.js';
import { MAX_VEX_BYTES, openVex } from '../gate/attest/vex.js';
import type { VexInput } from '../policy/vex.js';
import { readUserFile, readKeyFile } from '../user-file.js';

/** A VEX URL answers within this, or the scan does not start. */
const FETCH_MS = 30_000;

/**
 * `--vex` (files or http(s) URLs, in the order given) and `--vex-key`: what the scan's VEX stage
 * applies. A plain file without keys stays a path (read when applied, as always); a URL is fetched
 * now, bounded in bytes and time; with `--vex-key` every document is checked before the scan, so a
 * forged or unsigned one costs no scan.
 */
export async function vexInputs(vex: string[], keyFiles: string[] = []): Promise<Array<string | VexInput>> {
  const keys: TrustedKey[] = keyFiles.map((f) => trustedKey(readKeyFile(f), f));
  const out: Array<string | VexInput> = [];
  for (const v of vex) {
    const url = /^https?:\/\//i.test(v);
    if (!url && !keys.length) {
      out.push(v);
      continue;
    }
    const bytes = url ? await fetchVex(v) : Buffer.from(readUserFile(v, MAX_VEX_BYTES), 'utf8');
    out.push(openVex(bytes, v, keys.length ? keys : undefined));
  }
  return out;
}

async function fetchVex(url: string): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(FETCH_MS),
      headers: { accept: 'application/vnd.dsse.envelope.v1+json, application/json' },
      redirect: 'follow',
    });
  } catch (err) {
    throw new CustomsError(`cannot fetch the VEX document: ${(err as Error).message}`, url);
  }
  if (!res.ok) throw new CustomsError(`fetching the VEX document answered ${res.status}`, url);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_VEX_BYTES)
    throw new CustomsError(`${declared} bytes; a VEX document may be at most ${MAX_VEX_BYTES} bytes`, url);
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.body ?? []) {
      n += (c as Uint8Array).length;
      if (n > MAX_VEX_BYTES) {
        await res.body?.cancel().catch(() => undefined);
        throw new CustomsError(
          `more than ${MAX_VEX_BYTES} bytes; a VEX document may be at most ${MAX_VEX_BYTES} bytes`,
          url,
        );
      }
      chunks.push(Buffer.from(c as Uint8Array));
    }
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    throw new CustomsError(`reading the VEX document failed: ${(err as Error).message}`, url);
  }
  return Buffer.concat(chunks);
}
