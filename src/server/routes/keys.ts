import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { attestationKeys, loadAttestationKey, signingKeys } from '../../gate/server-key.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import type { SecretBox } from '../../store/secret-box.js';
import { errorSchema } from '../errors.js';
import { KeyQuery, Pem, ServerKeys } from '../schemas/keys.js';

/** The server's public keys: what verifiers of its attestations and its audit log are given. */
export function keyRoutes(base: FastifyInstance, s: { db: Db; box: SecretBox }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  /** The attestation key's public half, as PEM: what cosign, Kyverno and `customs verify --key` read. */
  async function attestationPem(reply: FastifyReply): Promise<string> {
    const k = await loadAttestationKey(db, s.box);
    reply.type('application/x-pem-file').header('x-key-id', k.keyId);
    return k.publicPem;
  }

  app.get(
    '/api/v1/signing-key',
    {
      schema: {
        summary:
          "The server's public keys. As PEM (the default, or format=pem): the attestation key verdicts, scans and VEX are signed with (give it to cosign verify-attestation --key, Kyverno's verifyImages or customs verify --key). As JSON (Accept: application/json or format=json): the audit log's signing key and retired ones under key/retired, the attestation key and retired ones under attestation",
        tags: ['gate'],
        security: [],
        querystring: KeyQuery,
        response: {
          200: {
            content: {
              'application/x-pem-file': { schema: Pem },
              'application/json': { schema: ServerKeys },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      // A client that asks for JSON by name gets the record (the audit tooling reads it); curl,
      // a browser or cosign's fetch (*/*) get the PEM file `--key` takes.
      const json =
        req.query.format === 'json' ||
        (req.query.format !== 'pem' && /application\/json/.test(String(req.headers.accept ?? '')));
      if (!json) return attestationPem(reply);
      await loadAttestationKey(db, s.box); // made on first use, as the PEM answer does
      const keys = await signingKeys(db);
      const att = await attestationKeys(db);
      const active = keys.find((k) => !k.retiredAt);
      if (!active) throw new DomainError('not_found', 'this server has no signing key yet');
      reply.type('application/json');
      return {
        key: active,
        retired: keys.filter((k) => k.retiredAt),
        attestation: { key: att.find((k) => !k.retiredAt), retired: att.filter((k) => k.retiredAt) },
      };
    },
  );

  app.get(
    '/api/v1/attestation-key',
    {
      schema: {
        summary:
          'The attestation key as PEM: the same as GET /api/v1/signing-key (kept for clients of earlier versions)',
        tags: ['gate'],
        security: [],
        response: { 200: { content: { 'application/x-pem-file': { schema: Pem } } } },
      },
    },
    async (_req, reply) => attestationPem(reply),
  );
}
