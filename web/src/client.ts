/**
 * The typed client: each route the dashboard calls, with its body and answer types taken from the
 * server's TypeBox schemas (src/server/schemas/). Nothing here restates a shape; a change to a
 * schema is a type error in the page that relies on the old one. (Type imports only: nothing of the
 * server reaches the bundle.)
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type * as alerts from '../../src/server/schemas/alerts.js';
import type * as approvals from '../../src/server/schemas/approvals.js';
import type * as audit from '../../src/server/schemas/audit.js';
import type * as baseCandidates from '../../src/server/schemas/base-candidates.js';
import type * as channels from '../../src/server/schemas/channels.js';
import type * as compare from '../../src/server/schemas/compare.js';
import type * as environments from '../../src/server/schemas/environments.js';
import type * as exceptions from '../../src/server/schemas/exceptions.js';
import type * as gate from '../../src/server/schemas/gate-settings.js';
import type * as images from '../../src/server/schemas/images.js';
import type * as imageView from '../../src/server/schemas/image-view.js';
import type * as overview from '../../src/server/schemas/overview.js';
import type * as policy from '../../src/server/schemas/policy.js';
import type * as registries from '../../src/server/schemas/registries.js';
import type * as search from '../../src/server/schemas/search.js';
import type * as session from '../../src/server/schemas/session.js';
import type * as tokens from '../../src/server/schemas/tokens.js';
import type * as trends from '../../src/server/schemas/trends.js';
import type * as users from '../../src/server/schemas/users.js';
import type * as watches from '../../src/server/schemas/watches.js';
import { api } from './api';
import { useApi } from './hooks';

type S<T extends TSchema> = Static<T>;

/** Route → what it takes (path parameters, query, body) and answers. */
export interface Routes {
  'GET /api/v1/alerts': { answer: S<typeof alerts.AlertRecord>[] };
  'GET /api/v1/approvals': { query: S<typeof approvals.ApprovalQuery>; answer: approvals.ApprovalAnswer[] };
  'POST /api/v1/approvals': { body: approvals.ApprovalInput; answer: approvals.ApprovalAnswer };
  'GET /api/v1/audit': { query: S<typeof audit.AuditQuery>; answer: audit.AuditAnswer[] };
  'GET /api/v1/audit/verify': { answer: audit.AuditVerdict };
  'GET /api/v1/auth/methods': { answer: session.SignInMethods };
  'GET /api/v1/auth/session': { answer: session.SessionAnswer };
  'POST /api/v1/auth/session': { body: S<typeof session.Credentials>; answer: session.SessionAnswer };
  'GET /api/v1/channels': { answer: S<typeof channels.ChannelRecord>[] };
  'POST /api/v1/channels': { body: channels.ChannelInput; answer: S<typeof channels.ChannelRecord> };
  'GET /api/v1/compare': { query: S<typeof compare.CompareQuery>; answer: compare.Comparison };
  'GET /api/v1/environments': { answer: S<typeof environments.EnvironmentSummary>[] };
  'GET /api/v1/environments/:name/gate': { params: { name: string }; answer: gate.GateSettings };
  'PUT /api/v1/environments/:name/gate': {
    params: { name: string };
    body: gate.GateChange;
    answer: gate.GateSettings;
  };
  'GET /api/v1/environments/:name/trend': {
    params: { name: string };
    query: S<typeof trends.TrendQuery>;
    answer: trends.TrendDay[];
  };
  'GET /api/v1/exceptions': {
    query: S<typeof exceptions.ExceptionQuery>;
    answer: exceptions.ExceptionAnswer[];
  };
  'POST /api/v1/exceptions': { body: exceptions.ExceptionInput; answer: exceptions.ExceptionAnswer };
  'POST /api/v1/exceptions/:id/approve': { params: { id: number }; answer: exceptions.ExceptionAnswer };
  'POST /api/v1/exceptions/:id/revoke': {
    params: { id: number };
    body: S<typeof exceptions.RevokeInput>;
    answer: exceptions.ExceptionAnswer;
  };
  'GET /api/v1/images/:digest': { params: { digest: string }; answer: images.ImageDetail };
  'GET /api/v1/images/:digest/view': {
    params: { digest: string };
    query: S<typeof imageView.ImageViewQuery>;
    answer: imageView.ImageView;
  };
  'GET /api/v1/images/:digest/base-candidates': {
    params: { digest: string };
    answer: baseCandidates.BaseCandidatesAnswer;
  };
  'POST /api/v1/environments': {
    body: S<typeof environments.EnvironmentInput>;
    answer: S<typeof environments.EnvironmentRecord>;
  };
  'GET /api/v1/overview': { query: S<typeof overview.OverviewQuery>; answer: overview.OverviewEnvironment[] };
  'GET /api/v1/policy': { answer: policy.PolicyDocument };
  'GET /api/v1/registries': { answer: S<typeof registries.RegistryRecord>[] };
  'POST /api/v1/registries': {
    body: S<typeof registries.RegistryInput>;
    answer: S<typeof registries.RegistryRecord>;
  };
  'GET /api/v1/search': { query: S<typeof search.SearchQuery>; answer: search.SearchAnswer };
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
type Query<R extends keyof Routes> = Routes[R] extends { query: infer Q } ? Q : undefined;
export type Body<R extends keyof Routes> = Routes[R] extends { body: infer B } ? B : undefined;
/** Where a route is: its path parameters and query, where it has them. */
type Where<R extends keyof Routes> = (Params<R> extends undefined ? object : { params: Params<R> }) &
  (Query<R> extends undefined ? object : { query?: Query<R> });
/** What a call passes besides the route: its path parameters, query and body, where it has them. */
type Args<R extends keyof Routes> = Where<R> & (Body<R> extends undefined ? object : { body: Body<R> });
/** The argument after the route: required when the route has path parameters or a body. */
type Rest<R extends keyof Routes, A> = keyof A extends never
  ? []
  : Params<R> extends undefined
    ? Body<R> extends undefined
      ? [A?]
      : [A]
    : [A];

type Values = Record<string, string | number | boolean | undefined>;

/** The path of a route with its `:name` parameters filled in and its query appended (encoded). */
export function pathOf(route: string, params?: Values, query?: Values): string {
  const path = route
    .slice(route.indexOf(' ') + 1)
    .replace(/:([a-zA-Z]+)/g, (_, k: string) => encodeURIComponent(String(params?.[k] ?? '')));
  const q = Object.entries(query ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return q ? `${path}?${q}` : path;
}

/** Call a route: `call('PUT /api/v1/users/:id', { params: { id }, body: { role } })`. */
export function call<R extends keyof Routes>(route: R, ...[args]: Rest<R, Args<R>>): Promise<Answer<R>> {
  const a = (args ?? {}) as { params?: Values; query?: Values; body?: unknown };
  return api<Answer<R>>(route.slice(0, route.indexOf(' ')), pathOf(route, a.params, a.query), a.body);
}

type GetRoute = { [R in keyof Routes]: R extends `GET ${string}` ? R : never }[keyof Routes];

/** Load a GET route (null waits, as useApi): `useRoute('GET /api/v1/audit', { query: { limit: 200 } })`. */
export function useRoute<R extends GetRoute>(route: R | null, ...[where]: Rest<R, Where<R>>) {
  const w = (where ?? {}) as { params?: Values; query?: Values };
  return useApi<Answer<R>>(route && pathOf(route, w.params, w.query));
}
