/** The dashboard talks to the public API only, with its session cookie and CSRF token. */
import type { Answer } from './client';

/** Who is signed in (the session routes' answer). */
export type Session = Answer<'GET /api/v1/auth/session'>;

let csrf: string | null = null;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok)
    throw new ApiError(
      res.status,
      (data as { error?: { message?: string } })?.error?.message ?? res.statusText,
    );
  return data as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body);

export async function currentSession(): Promise<Session | null> {
  // An anonymous visitor has no cookie: no request at all, so the browser logs no 401.
  if (!document.cookie.includes('customs_signed_in=1')) return null;
  try {
    const s = await get<Session>('/api/v1/auth/session');
    csrf = s.csrfToken;
    return s;
  } catch {
    return null;
  }
}

export async function signIn(username: string, password: string): Promise<Session> {
  const s = await post<Session>('/api/v1/auth/session', { username, password });
  csrf = s.csrfToken;
  return s;
}

export async function signOut(): Promise<void> {
  await api('DELETE', '/api/v1/auth/session');
  csrf = null;
}

/** May this session act with `permission` in `environment`? (The API refuses the rest anyway.) */
export function may(s: Session, permission: string, environment?: string): boolean {
  if (!s.permissions.includes(permission)) return false;
  return !environment || !s.environments || s.environments.includes(environment);
}

export const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
