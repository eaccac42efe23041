const chains = new Map<string, Promise<unknown>>();

/**
 * One install of a vulnerability database file at a time in this process: the updater (a request
 * or its schedule) and the follower (keeping a replica in step) both download next to the file
 * under one temporary name and rename it into place, so two at once would take each other's file.
 */
export function installing<T>(dbPath: string, fn: () => Promise<T>): Promise<T> {
  const next = (chains.get(dbPath) ?? Promise.resolve()).catch(() => undefined).then(fn);
  const settled = next.catch(() => undefined);
  chains.set(dbPath, settled);
  void settled.then(() => {
    if (chains.get(dbPath) === settled) chains.delete(dbPath);
  });
  return next;
}
