import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { CustomsError } from './errors.js';
import { readUserFile } from './user-file.js';

/**
 * The user's settings file: $CUSTOMS_CONFIG, else $XDG_CONFIG_HOME/customs/config.yaml (or
 * ~/.config/customs/config.yaml). Flags and environment variables win over it. `customs server`
 * reads its own settings from the same file, so the keys are flat and shared:
 *
 *   dbRepositories: [registry.local:5000/sec/customs-db]   # mirrors, tried in order
 *   dbTrustKeys: [db-signing.pub]                          # relative to this file
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
    const top = (doc ?? {}) as Record<string, unknown>;
    const list = (key: string): string[] | undefined => {
      const v = top[key];
      if (v === undefined || v === null) return undefined;
      const l = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(l) || l.some((x) => typeof x !== 'string'))
        throw new CustomsError(`${key} must be a list of strings`, path);
      return l as string[];
    };
    config = {
      db: {
        repositories: list('dbRepositories'),
        trustKeys: list('dbTrustKeys')?.map((k) => (isAbsolute(k) ? k : resolve(dirname(path), k))),
      },
    };
  }
  cached = { path, config };
  return config;
}
