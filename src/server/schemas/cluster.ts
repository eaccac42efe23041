import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';

/** The replica answering, and which replica leads each singleton task. */
export const ClusterState = Type.Object({
  replica: Type.String({ description: 'the replica that answered (host:pid)' }),
  draining: Type.Boolean(),
  singletons: Type.Array(Type.Object({ task: Type.String(), replica: Nullable(Type.String()) })),
});
export type ClusterState = Static<typeof ClusterState>;
