import { Type } from '@sinclair/typebox';
import { Nullable, StringEnum } from './common.js';

/** A public key of the server. */
export const KeyRecord = Type.Object({
  id: Type.Optional(Type.String({ description: 'sha256 of the public key (DER), hex' })),
  algorithm: Type.Optional(Type.String()),
  publicKey: Type.Optional(Type.String({ description: 'PEM (SubjectPublicKeyInfo)' })),
  createdAt: Type.Optional(Type.String()),
  retiredAt: Type.Optional(Nullable(Type.String())),
});

/** The key in use and those retired. */
export const KeyList = Type.Object({
  key: Type.Optional(KeyRecord),
  retired: Type.Optional(Type.Array(KeyRecord)),
});

/** The audit log's keys, and the attestation keys beside them. */
export const ServerKeys = Type.Object({
  key: Type.Optional(KeyRecord),
  retired: Type.Optional(Type.Array(KeyRecord)),
  attestation: Type.Optional(KeyList),
});

/** The attestation key's public half. */
export const Pem = Type.String({
  description: 'PEM (SubjectPublicKeyInfo); X-Key-Id: sha256 of the DER key, hex',
});

export const KeyQuery = Type.Object(
  { format: Type.Optional(StringEnum(['pem', 'json'] as const)) },
  { additionalProperties: false },
);
