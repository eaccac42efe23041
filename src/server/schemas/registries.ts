import { Type, type Static } from '@sinclair/typebox';

/**
 * A registry the server may pull from, as an admin configures it. A secret left out keeps the
 * stored one; an empty string clears it.
 */
export const RegistryInput = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 300 }),
    insecure: Type.Optional(Type.Boolean()),
    username: Type.Optional(Type.String({ maxLength: 300 })),
    password: Type.Optional(Type.String({ maxLength: 10000 })),
    webhookSecret: Type.Optional(
      Type.Union([Type.Literal(''), Type.String({ minLength: 16, maxLength: 1000 })], {
        description: 'left out: the stored one is kept; empty: cleared',
      }),
    ),
    attest: Type.Optional(
      Type.Boolean({
        description:
          "push signed scans and verdicts (the server's attestation key) beside this registry's images",
      }),
    ),
    pushUsername: Type.Optional(
      Type.String({
        maxLength: 300,
        description: 'the account attestations are pushed with (default: username)',
      }),
    ),
    pushPassword: Type.Optional(Type.String({ maxLength: 10000 })),
  },
  { additionalProperties: false },
);
export type RegistryInput = Static<typeof RegistryInput>;

/** A configured registry as the API shows it: whether secrets are set, never the secrets. */
export const RegistryRecord = Type.Object({
  id: Type.Integer(),
  host: Type.String(),
  url: Type.String(),
  insecure: Type.Boolean(),
  hasCredentials: Type.Boolean(),
  hasWebhookSecret: Type.Boolean(),
  attest: Type.Boolean({ description: 'the server pushes signed scans and verdicts beside its images' }),
  hasPushCredentials: Type.Boolean(),
  createdAt: Type.String(),
});
export type RegistryRecord = Static<typeof RegistryRecord>;

export const HostParam = Type.Object({ host: Type.String() });
