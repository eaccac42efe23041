import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { imageVex, signVex } from '../../gate/attest/vex.js';
import { loadAttestationKey } from '../../gate/server-key.js';
import { DomainError } from '../../services/errors.js';
import type { Db } from '../../store/db.js';
import { firstRepositoryOf } from '../../store/images.js';
import type { SecretBox } from '../../store/secret-box.js';
import { authErrors, errorSchema } from '../errors.js';
import { DigestParam } from '../schemas/common.js';
import { VexAnswer, VexQuery } from '../schemas/vex.js';

/** An image's OpenVEX from the server's records, signed with the attestation key when asked. */
export function vexRoutes(base: FastifyInstance, s: { db: Db; box: SecretBox }): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.get(
    '/api/v1/images/:digest/vex',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          "OpenVEX 0.2.0 of the image from the server's records: exceptions in force (not_affected), what the scan found unreachable, findings a newer database withdrew (fixed). signed=1 or Accept: application/vnd.dsse.envelope+json: a DSSE envelope (in-toto statement about the digest) signed with the attestation key",
        tags: ['gate'],
        params: DigestParam,
        querystring: VexQuery,
        response: {
          200: VexAnswer,
          400: errorSchema,
          404: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      const { digest } = req.params;
      const accept = String(req.headers.accept ?? '');
      const signed =
        req.query.signed === '1' ||
        req.query.signed === 'true' ||
        /application\/vnd\.dsse\.envelope(\.v1)?\+json/.test(accept);
      // A signed VEX travels without its environment: it may hold only what holds in every one
      // (exceptions covering all environments passed every environment's sign-off rules).
      if (signed && req.query.environment)
        throw new DomainError(
          'invalid',
          'a signed VEX speaks for every environment: leave out environment (its exceptions are then those in force everywhere)',
        );
      // Every pipeline and cluster trusts what the attestation key signs: asking for it is a
      // sign-off, not a read.
      if (signed && !req.principal?.permissions.includes('approve'))
        throw new DomainError(
          'forbidden',
          `this token (role ${req.principal?.role ?? 'none'}) may not have VEX signed: that needs the approve permission (unsigned VEX needs read only)`,
        );
      const vex = await imageVex(db, digest, {
        environment: req.query.environment,
        author: 'customs server',
      });
      if (!vex) throw new DomainError('not_found', `no scan of ${digest} on this server`);
      const doc = vex.document;
      // The key vouches for the server's own reading of the image: a CI report (or an SBOM) is
      // the client's word, and a digest no registry gave the server is one it never saw.
      if (signed && vex.provenance !== 'server-scan')
        throw new DomainError(
          'conflict',
          `the server has not scanned ${digest} itself (its result is ${vex.provenance === 'attested-sbom' ? 'from an attested SBOM' : 'a reported one'}): VEX is signed only for images the server pulled from a configured registry; ask unsigned, or let the server scan it`,
        );
      if (!doc.statements.length)
        throw new DomainError(
          'not_found',
          `nothing to state about ${digest}: no exception, unreachable or withdrawn finding`,
        );
      if (signed) {
        const k = await loadAttestationKey(db, s.box);
        const name = (await firstRepositoryOf(db, digest)) || 'image';
        reply.type('application/vnd.dsse.envelope.v1+json');
        return JSON.stringify(signVex(doc, digest, name, k.key, k.keyId));
      }
      reply.type('application/json');
      return JSON.stringify(doc);
    },
  );
}
