import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { CustomsError } from './errors.js';
import { readUserFile } from './user-file.js';

/**
 * The user's settings file: $CUSTOMS_CONFIG, else $XDG_CONFIG_HOME/customs/config.yaml (or
 * ~/.config/customs/config.yaml). Flags and environment variables win over it.
 *
 *   db:
 *     repositories: [registry.local:5000/sec/customs-db]   # mirrors, tried in order
 *     trustKeys: [/etc/customs/db-signing.pub]              # relative to this file
 */
export interface UserConfig {
  db?: { repositories?: string[]; trustKeys?: string[] };
}

let cached: { path?: string; config: UserConfig } | undefined;

export function configPath(): string {
  if (process.env.CUSTOMS_CONFIG) return process.env.CUSTOMS_CONFIG;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'customs', 'config.yaml');
}

export function userConfig(): UserConfig {
  const path = configPath();
  if (cached?.path === path) return cached.config;
  let config: UserConfig = {};
  if (existsSync(path)) {
    let doc: unknown;
    try {
      doc = YAML.parse(readUserFile(path, 1024 * 1024), { maxAliasCount: 10 });
    } catch (err) {
      throw new CustomsError(`not valid YAML (${(err as Error).message})`, path);
    }
    const db = (doc as { db?: Record<string, unknown> } | null)?.db;
    const list = (v: unknown, key: string): string[] | undefined => {
      if (v === undefined) return undefined;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
        throw new CustomsError(`db.${key} must be a list of strings`, path);
      return v as string[];
    };
    config = {
      db: {
        repositories: list(db?.repositories, 'repositories'),
        trustKeys: list(db?.trustKeys, 'trustKeys')?.map((k) =>
          isAbsolute(k) ? k : resolve(dirname(path), k),
        ),
      },
    };
  }
  cached = { path, config };
  return config;
}
