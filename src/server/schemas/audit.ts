import { Type, type Static } from '@sinclair/typebox';
import { AnyObject, FilledExcept, Nullable, StringEnum } from './common.js';

/** One entry of the audit log, chained to the one before by its hash. */
export const AuditEntry = Type.Object({
  seq: Type.Optional(Type.Integer()),
  at: Type.Optional(Type.String()),
  actor: Type.Optional(Type.String()),
  actorName: Type.Optional(
    Type.String({ description: 'the person, as people read it ("alice (token cli)")' }),
  ),
  action: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  details: Type.Optional(AnyObject),
  prevHash: Type.Optional(Type.String()),
  hash: Type.Optional(Type.String()),
});
export const AuditAnswer = FilledExcept(AuditEntry, ['actorName']);
export type AuditAnswer = Static<typeof AuditAnswer>;

export const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ maxLength: 100, description: 'prefix, e.g. approval.' })),
    subject: Type.Optional(Type.String({ maxLength: 300 })),
    actor: Type.Optional(Type.String({ maxLength: 300 })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'entries before this sequence number' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

/** The audit log's hash chain walked: ok, or the first entry edited, removed or inserted. */
const AuditWalk = Type.Object({
  ok: Type.Optional(Type.Boolean()),
  entries: Type.Optional(Type.Integer()),
  head: Type.Optional(
    Type.String({
      description: 'hash of the newest verified entry (keep it elsewhere to detect truncation)',
    }),
  ),
  broken: Type.Optional(
    Type.Object({ seq: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String()) }),
  ),
  signatures: Type.Optional(
    Type.Object(
      {
        status: Type.Optional(StringEnum(['valid', 'unsigned', 'invalid'] as const)),
        signed: Type.Optional(Type.Integer()),
        unsigned: Type.Optional(Type.Integer({ description: 'entries from before the log was signed' })),
        head: Type.Optional(
          Nullable(
            Type.Object({
              seq: Type.Optional(Type.Integer()),
              hash: Type.Optional(Type.String()),
              keyId: Type.Optional(Type.String()),
            }),
          ),
        ),
        keys: Type.Optional(Type.Array(Type.String())),
      },
      { description: 'Each entry and the newest one apart are signed with the server key' },
    ),
  ),
});
/** As the server fills it: `broken` only when the chain is. */
export type AuditVerdict = Required<Omit<Static<typeof AuditWalk>, 'broken' | 'signatures'>> & {
  broken?: Required<NonNullable<Static<typeof AuditWalk>['broken']>>;
  signatures: Required<NonNullable<Static<typeof AuditWalk>['signatures']>>;
};
export const AuditVerdict = Type.Unsafe<AuditVerdict>(AuditWalk);
