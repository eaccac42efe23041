import YAML from 'yaml';
import { CustomsError } from '../errors.js';
import { alpineSecdbImporter } from './importers/alpine-secdb.js';
import { debianTrackerImporter } from './importers/debian-tracker.js';
import { epssImporter } from './importers/epss.js';
import { newCounts, type ImportCounts, type Importer, type ParsedFile } from './importers/importer.js';
import { kevImporter } from './importers/kev.js';
import { nvdImporter } from './importers/nvd.js';
import { osvImporter } from './importers/osv.js';
import { filesOf, maybeGunzip, type InputFile } from './input.js';
import type { StoreWriter } from './store.js';

/** Every feed format `db import` recognises; a new feed is one module and one line here. */
export const importers: Importer[] = [
  osvImporter,
  alpineSecdbImporter,
  kevImporter,
  nvdImporter,
  debianTrackerImporter,
  epssImporter,
];

export interface ImportReport {
  /** Per source (osv:PyPI, alpine-secdb, kev…): records stored, skipped, warnings. */
  sources: Map<string, ImportCounts & { importer: string }>;
  /** Files no importer recognised, or that did not parse. */
  unrecognised: string[];
  malformed: string[];
}

const DATA = /\.(json|ya?ml|csv)(\.gz)?$/i;

async function parseFile(f: InputFile): Promise<ParsedFile | 'malformed'> {
  const buf = maybeGunzip(await f.read());
  const name = f.name.replace(/\.gz$/i, '');
  const text = buf.toString('utf8');
  try {
    // By extension, or for a file named explicitly (feeds are served as .../json), by content.
    const csv = /\.csv$/i.test(name) || (f.explicit && /^(#[^\n]*\n)?cve,/.test(text.slice(0, 300)));
    if (csv) return { name: f.name, text };
    const json = /\.json$/i.test(name) || (f.explicit && /^\s*[[{]/.test(text.slice(0, 100)));
    if (json) return { name: f.name, data: JSON.parse(text) };
    return { name: f.name, data: YAML.parse(text, { maxAliasCount: 100 }) };
  } catch {
    return 'malformed';
  }
}

/** Read every feed file a path holds (folder, zip or single file) into the store being written. */
export async function importPath(
  w: StoreWriter,
  path: string,
  onProgress?: (files: number) => void,
): Promise<ImportReport> {
  const report: ImportReport = { sources: new Map(), unrecognised: [], malformed: [] };
  let files = 0;
  for await (const f of filesOf(path)) {
    if (!f.explicit && (!DATA.test(f.name) || /(^|\/)(LICENSE|README)/i.test(f.name))) continue;
    files++;
    if (onProgress && files % 500 === 0) onProgress(files);
    const parsed = await parseFile(f);
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
  const now = new Date().toISOString();
  for (const [name, c] of report.sources) {
    w.setSource({ name, kind: c.importer, location: path, updatedAt: now, records: c.records, status: 'ok' });
  }
  return report;
}
