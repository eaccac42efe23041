import { useCallback, useEffect, useState } from 'preact/hooks';
import { get } from './api';

/**
 * Requests started before the page that reads them is mounted (main.tsx: the overview, while the
 * session is asked for): the first `useApi` of that path takes the answer instead of asking again.
 */
const early = new Map<string, Promise<unknown>>();

export function prefetch(path: string): void {
  const p = get(path);
  p.catch(() => undefined); // read (and reported) by the page that takes it, if any
  early.set(path, p);
}

/** Load an API path; `path` null waits. `reload()` fetches again (after a change). */
export function useApi<T>(path: string | null): {
  data?: T;
  error?: string;
  loading: boolean;
  reload: () => void;
} {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: !!path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    const first = early.get(path) as Promise<T> | undefined;
    early.delete(path);
    (first ?? get<T>(path)).then(
      (data) => live && setState({ data, loading: false }),
      (err: Error) => live && setState({ error: err.message, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
