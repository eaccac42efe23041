/**
 * The typed client: each route the dashboard calls, with its body and answer types taken from the
 * server's TypeBox schemas (src/server/schemas/). Nothing here restates a shape; a change to a
 * schema is a type error in the page that relies on the old one. (Type imports only: nothing of the
 * server reaches the bundle.)
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type * as alerts from '../../src/server/schemas/alerts.js';
import type * as channels from '../../src/server/schemas/channels.js';
import type * as environments from '../../src/server/schemas/environments.js';
import type * as registries from '../../src/server/schemas/registries.js';
import type * as tokens from '../../src/server/schemas/tokens.js';
import type * as users from '../../src/server/schemas/users.js';
import type * as watches from '../../src/server/schemas/watches.js';
import { api } from './api';
import { useApi } from './hooks';

type S<T extends TSchema> = Static<T>;

/** Route → what it takes and answers. */
export interface Routes {
  'GET /api/v1/alerts': { answer: S<typeof alerts.AlertRecord>[] };
  'GET /api/v1/channels': { answer: S<typeof channels.ChannelRecord>[] };
  'POST /api/v1/channels': { body: channels.ChannelInput; answer: S<typeof channels.ChannelRecord> };
  'GET /api/v1/environments': { answer: S<typeof environments.EnvironmentSummary>[] };
  'POST /api/v1/environments': {
    body: S<typeof environments.EnvironmentInput>;
    answer: S<typeof environments.EnvironmentRecord>;
  };
  'GET /api/v1/registries': { answer: S<typeof registries.RegistryRecord>[] };
  'POST /api/v1/registries': {
    body: S<typeof registries.RegistryInput>;
    answer: S<typeof registries.RegistryRecord>;
  };
  'GET /api/v1/tokens': { answer: S<typeof tokens.TokenRecord>[] };
  'POST /api/v1/tokens': { body: S<typeof tokens.TokenInput>; answer: S<typeof tokens.IssuedToken> };
  'DELETE /api/v1/tokens/:id': { params: { id: number }; answer: null };
  'GET /api/v1/users': { answer: S<typeof users.UserRecord>[] };
  'POST /api/v1/users': { body: S<typeof users.UserInput>; answer: S<typeof users.UserCreated> };
  'PUT /api/v1/users/:id': {
    params: { id: number };
    body: S<typeof users.UserChange>;
    answer: S<typeof users.UserRecord>;
  };
  'GET /api/v1/watches': { answer: S<typeof watches.WatchRecord>[] };
  'POST /api/v1/watches': { body: S<typeof watches.WatchInput>; answer: S<typeof watches.WatchRecord> };
}

export type Answer<R extends keyof Routes> = Routes[R]['answer'];
type Params<R extends keyof Routes> = Routes[R] extends { params: infer P } ? P : undefined;
export type Body<R extends keyof Routes> = Routes[R] extends { body: infer B } ? B : undefined;
/** What a call passes besides the route: its path parameters and body, where it has them. */
type Args<R extends keyof Routes> = (Params<R> extends undefined ? object : { params: Params<R> }) &
  (Body<R> extends undefined ? object : { body: Body<R> });

/** The path of a route with its `:name` parameters filled in (encoded). */
export function pathOf(route: string, params?: Record<string, string | number>): string {
  const path = route.slice(route.indexOf(' ') + 1);
  return path.replace(/:([a-zA-Z]+)/g, (_, k: string) => encodeURIComponent(String(params?.[k] ?? '')));
}

/** Call a route: `call('PUT /api/v1/users/:id', { params: { id }, body: { role } })`. */
export function call<R extends keyof Routes>(
  route: R,
  ...[args]: keyof Args<R> extends never ? [] : [Args<R>]
): Promise<Answer<R>> {
  const a = (args ?? {}) as { params?: Record<string, string | number>; body?: unknown };
  return api<Answer<R>>(route.slice(0, route.indexOf(' ')), pathOf(route, a.params), a.body);
}

type GetRoute = { [R in keyof Routes]: R extends `GET ${string}` ? R : never }[keyof Routes];

/** Load a GET route (null waits, as useApi). */
export function useRoute<R extends GetRoute>(route: R | null, params?: Record<string, string | number>) {
  return useApi<Answer<R>>(route && pathOf(route, params));
}
