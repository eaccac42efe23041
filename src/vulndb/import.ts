import YAML from 'yaml';
import { CustomsError } from '../errors.js';
import { alasImporter, elsaImporter } from './importers/updateinfo.js';
import { csafImporter } from './importers/csaf.js';
import { nodejsImporter } from './importers/nodejs.js';
import { alpineSecdbImporter } from './importers/alpine-secdb.js';
import { debianTrackerImporter } from './importers/debian-tracker.js';
import { epssImporter } from './importers/epss.js';
import { newCounts, type ImportCounts, type Importer, type ParsedFile } from './importers/importer.js';
import { kevImporter } from './importers/kev.js';
import { nvdImporter, putNvdItem } from './importers/nvd.js';
import { createReadStream } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { osvImporter } from './importers/osv.js';
import { filesOf, maybeGunzip, TooLargeError, type InputFile } from './input.js';
import { streamArrayOf, streamEntries } from './json-stream.js';
import type { StoreWriter } from './store.js';

/** Every feed format `db import` recognises; a new feed is one module and one line here. */
export const importers: Importer[] = [
  osvImporter,
  alpineSecdbImporter,
  kevImporter,
  nvdImporter,
  debianTrackerImporter,
  epssImporter,
  alasImporter,
  elsaImporter,
  csafImporter,
  nodejsImporter,
];

export interface ImportReport {
  /** Per source (osv:PyPI, alpine-secdb, kev…): records stored, skipped, warnings. */
  sources: Map<string, ImportCounts & { importer: string }>;
  /** Files no importer recognised, or that did not parse. */
  unrecognised: string[];
  malformed: string[];
  /** Files refused by a bound (too large, a bomb), each with why: the rest of the import goes on. */
  refused: string[];
}

/** YAML's document model takes far more memory per byte than JSON: its own, lower bound. */
const MAX_YAML = 8 * 1024 ** 2;

const DATA = /\.(json|ya?ml|csv|xml)(\.gz)?$/i;

async function parseFile(f: InputFile): Promise<ParsedFile | 'malformed'> {
  const buf = maybeGunzip(await f.read(), f.name);
  const name = f.name.replace(/\.gz$/i, '');
  const text = buf.toString('utf8');
  const yaml = !/\.(csv|xml|json)$/i.test(name);
  if (yaml && buf.length > MAX_YAML && !(f.explicit && /^\s*[[{<]/.test(text.slice(0, 100))))
    throw new TooLargeError(`${f.name} is larger than ${MAX_YAML / 1024 ** 2} MiB of YAML; refused`);
  try {
    // By extension, or for a file named explicitly (feeds are served as .../json), by content.
    const csv = /\.csv$/i.test(name) || (f.explicit && /^(#[^\n]*\n)?cve,/.test(text.slice(0, 300)));
    if (csv) return { name: f.name, text };
    // XML feeds (yum updateinfo) are parsed by their importer.
    if (/\.xml$/i.test(name) || (f.explicit && /^\s*<\?xml|^\s*<updates[\s>]/.test(text.slice(0, 300))))
      return { name: f.name, text };
    const json = /\.json$/i.test(name) || (f.explicit && /^\s*[[{]/.test(text.slice(0, 100)));
    if (json) return { name: f.name, data: JSON.parse(text) };
    return { name: f.name, data: YAML.parse(text, { maxAliasCount: 100 }) };
  } catch {
    return 'malformed';
  }
}

/**
 * NVD's yearly feeds are up to ~160 MB of JSON: parsed whole they took ~800 MB. They are
 * recognised by name or by their first bytes and streamed one CVE at a time.
 */
async function isNvdFeed(path: string, name: string): Promise<boolean> {
  if (/nvdcve-2\.0-[^/]*\.json(\.gz)?$/i.test(name)) return true;
  const head = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    createReadStream(path, { start: 0, end: 64 * 1024 - 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', () => resolve(Buffer.alloc(0)));
  });
  let text: string;
  try {
    text = (
      head[0] === 0x1f && head[1] === 0x8b ? gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH }) : head
    )
      .subarray(0, 4096)
      .toString('utf8');
  } catch {
    return false;
  }
  return /^\s*\{/.test(text) && /"format"\s*:\s*"NVD_CVE"/.test(text);
}

async function isGzip(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    createReadStream(path, { start: 0, end: 1 })
      .on('data', (c) => resolve((c as Buffer)[0] === 0x1f && (c as Buffer)[1] === 0x8b))
      .on('error', () => resolve(false))
      .on('end', () => resolve(false));
  });
}

async function importNvdStream(
  path: string,
  name: string,
  w: StoreWriter,
  counts: ImportCounts,
): Promise<void> {
  try {
    for await (const value of streamArrayOf(path, await isGzip(path), name, 'vulnerabilities'))
      putNvdItem(value, w, counts);
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    throw new CustomsError(`not a readable NVD feed (${(err as Error).message})`);
  }
}

/** Top-level entries per batch handed to a streamable importer. */
const BATCH = 500;

/**
 * A document too large to parse whole whose top level is one entry per package (the Debian
 * tracker): its entries are read one at a time and handed in batches to the importer that claims
 * the first entry alone, if that importer takes a document in parts. Anything else (a CSAF file,
 * whose first entry no importer claims alone) stays refused without being read further.
 */
async function importEntries(f: InputFile, report: ImportReport, w: StoreWriter): Promise<boolean> {
  let imp: Importer | undefined;
  let counts: (ImportCounts & { importer: string }) | undefined;
  let batch: Record<string, unknown> = {};
  let n = 0;
  const flush = () => {
    const parsed: ParsedFile = { name: f.name, data: batch, part: true };
    if (!imp) {
      imp = importers.find((i) => i.claims(parsed));
      if (!imp?.streamable) return false;
      const source = imp.sourceOf?.(parsed) ?? imp.name;
      counts = report.sources.get(source);
      if (!counts) report.sources.set(source, (counts = { ...newCounts(), importer: imp.name }));
      imp.startDocument?.(w);
    }
    if (n) imp.import(parsed, w, counts!);
    batch = {};
    n = 0;
    return true;
  };
  try {
    for await (const { key, value } of streamEntries(f.path!, await isGzip(f.path!), f.name)) {
      batch[key] = value;
      n++;
      if ((!imp || n >= BATCH) && !flush()) return false;
    }
  } catch (err) {
    if (err instanceof CustomsError) throw err;
    return false; // not an object at the top: refused as too large
  }
  return !!imp && flush();
}

/** Read every feed file a path holds (folder, zip or single file) into the store being written. */
export async function importPath(
  w: StoreWriter,
  path: string,
  onProgress?: (files: number) => void,
): Promise<ImportReport> {
  const report: ImportReport = { sources: new Map(), unrecognised: [], malformed: [], refused: [] };
  let files = 0;
  for await (const f of filesOf(path)) {
    if (!f.explicit && (!DATA.test(f.name) || /(^|\/)(LICENSE|README)/i.test(f.name))) continue;
    files++;
    if (onProgress && files % 500 === 0) onProgress(files);
    if (f.path && (await isNvdFeed(f.path, f.name))) {
      let counts = report.sources.get('nvd');
      if (!counts) report.sources.set('nvd', (counts = { ...newCounts(), importer: nvdImporter.name }));
      await importNvdStream(f.path, f.name, w, counts);
      continue;
    }
    let parsed: ParsedFile | 'malformed';
    try {
      parsed = await parseFile(f);
    } catch (err) {
      if (!(err instanceof TooLargeError)) throw err;
      if (f.path && /\.json(\.gz)?$|^[^.]*$/i.test(f.name) && (await importEntries(f, report, w))) continue;
      report.refused.push(err.message);
      continue;
    }
    if (parsed === 'malformed') {
      report.malformed.push(f.name);
      continue;
    }
    const imp = importers.find((i) => i.claims(parsed));
    if (!imp) {
      report.unrecognised.push(f.name);
      continue;
    }
    const source = imp.sourceOf?.(parsed) ?? imp.name;
    let counts = report.sources.get(source);
    if (!counts) report.sources.set(source, (counts = { ...newCounts(), importer: imp.name }));
    try {
      imp.import(parsed, w, counts);
    } catch (err) {
      counts.skipped++;
      counts.warnings.push(`${f.name}: ${(err as Error).message}`);
    }
  }
  if (files === 0) throw new CustomsError('holds no feed files (JSON, YAML or CSV)');
  if (report.sources.size === 0 && report.refused.length) throw new CustomsError(report.refused[0]);
  const now = new Date().toISOString();
  // Counted from the store, not from this input: several inputs (a folder and a fix-up file, or
  // two imports in a row) feed one source, and the last one's count alone was shown before.
  for (const [name, c] of report.sources) {
    w.setSource({
      name,
      kind: c.importer,
      location: path,
      updatedAt: now,
      records: w.recordsOf(name),
      status: 'ok',
    });
  }
  return report;
}
