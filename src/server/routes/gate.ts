import { withPeople } from '../../services/people.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseReference } from '../../image/registry/reference.js';
import { RegistryClient } from '../../image/registry/client.js';
import type { Policy } from '../../policy/policy.js';
import { registryOptions } from '../../store/registries.js';
import type { SecretBox } from '../../store/secret-box.js';
import { listAudit, verifyAudit } from '../../gate/audit.js';
import { setGate } from '../../services/environments.js';
import { decideApproval, listApprovals, requestApproval } from '../../gate/approvals.js';
import { evaluate } from '../../gate/evaluate.js';
import {
  createException,
  listExceptions,
  revokeException,
  signOffException,
  toIgnoreFile,
  toOpenVex,
  type ExceptionInput,
} from '../../gate/exceptions.js';
import { actorOf, gateSettings, type GateSettings, type Principal } from '../../gate/settings.js';
import { trustedKey } from '../../gate/cosign.js';
import { attestationKeys, loadAttestationKey, signingKeys } from '../../gate/server-key.js';
import { imageVex, signVex } from '../../gate/attest/vex.js';
import { firstRepositoryOf } from '../../store/images.js';
import { keylessVerifier } from '../../gate/sigstore.js';
import { checkTrust } from '../../gate/trust.js';
import type { Admission } from '../../gate/admission.js';
import { principalOf } from '../auth.js';
import { authErrors, errorSchema } from '../errors.js';
import { digestParam, envName, provenance, scanBrief } from '../schemas.js';
import type { Services } from '../../services/ingest.js';
import { DomainError, asInvalid } from '../../services/errors.js';

const principal = (req: FastifyRequest): Principal => req.principal as Principal;

const approvalRecord = {
  type: 'object',
  properties: {
    digest: { type: 'string' },
    environment: { type: 'string' },
    state: { type: 'string', enum: ['requested', 'approved', 'rejected', 'revoked'] },
    requestedBy: { type: ['string', 'null'] },
    requestReason: { type: ['string', 'null'] },
    requestedAt: { type: ['string', 'null'] },
    decidedBy: { type: ['string', 'null'] },
    decisionReason: { type: ['string', 'null'] },
    decidedAt: { type: ['string', 'null'] },
    acceptedFailures: { type: 'array', items: { type: 'string' } },
    requestedByName: { type: 'string', description: 'the person, as people read it ("alice (token cli)")' },
    decidedByName: { type: 'string', description: 'the person, as people read it' },
  },
} as const;

const decisionRecord = {
  type: 'object',
  properties: {
    digest: { type: 'string' },
    environment: { type: 'string' },
    allowed: { type: 'boolean' },
    status: {
      type: 'string',
      enum: [
        'approved',
        'auto-approved',
        'pending',
        'rejected',
        'suspended',
        'policy-failed',
        'untrusted',
        'not-scanned',
        'not-verified',
      ],
    },
    reasons: { type: 'array', items: { type: 'string' } },
    policy: {
      type: ['object', 'null'],
      properties: {
        passed: { type: 'boolean' },
        failures: { type: 'array', items: { type: 'string' } },
        waivedRules: { type: 'array', items: { type: 'string' } },
      },
    },
    approval: { anyOf: [approvalRecord, { type: 'null' }] },
    trust: {
      type: ['object', 'null'],
      properties: {
        required: { type: 'boolean' },
        trusted: { type: 'boolean' },
        checked: { type: 'boolean' },
        reason: { type: 'string' },
      },
    },
    scan: scanBrief,
    provenance: { ...provenance, type: ['object', 'null'] },
    suppressed: { type: 'integer' },
    evaluatedAt: { type: 'string' },
  },
} as const;

const exceptionRecord = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    vulnerability: { type: 'string' },
    package: { type: 'string' },
    rule: { type: 'string' },
    repository: { type: 'string' },
    digest: { type: 'string' },
    environments: { type: ['array', 'null'], items: { type: 'string' } },
    reason: { type: 'string' },
    expiresAt: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'active', 'revoked', 'expired'] },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    approvedBy: { type: ['string', 'null'] },
    approvedAt: { type: ['string', 'null'] },
    revokedBy: { type: ['string', 'null'] },
    revokedAt: { type: ['string', 'null'] },
    createdByName: { type: 'string', description: 'the person, as people read it ("alice (token cli)")' },
    approvedByName: { type: 'string' },
    revokedByName: { type: 'string' },
  },
} as const;

const gateRecord = {
  type: 'object',
  additionalProperties: false,
  properties: {
    autoApprove: { type: 'boolean' },
    fourEyes: { type: 'boolean' },
    requireSignature: { type: 'boolean' },
    keepApprovalOnPolicyFailure: { type: 'boolean' },
    unknownImage: { type: 'string', enum: ['deny', 'allow'] },
    requireDigest: { type: 'boolean', description: 'admission denies images named by tag' },
    namespaces: {
      type: 'array',
      maxItems: 200,
      items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
    },
    exceptionSignoff: { type: 'boolean' },
    exceptionWarningDays: { type: 'integer', minimum: 0, maximum: 365 },
    acceptReported: {
      type: 'boolean',
      description: 'a result from a CI report (not read by the server) may be approved or admitted here',
    },
    trust: {
      type: 'object',
      additionalProperties: false,
      properties: {
        keys: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 10_000 } },
        identities: {
          type: 'array',
          maxItems: 50,
          items: {
            type: 'object',
            required: ['subject', 'issuer'],
            additionalProperties: false,
            properties: {
              subject: { type: 'string', minLength: 1, maxLength: 500 },
              issuer: { type: 'string', minLength: 1, maxLength: 500 },
            },
          },
        },
        trustedRoot: { type: 'string', maxLength: 1_000_000, description: 'Sigstore trusted_root.json' },
        builders: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 500 } },
        sources: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 500 } },
      },
    },
  },
} as const;

const auditEntry = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    actorName: { type: 'string', description: 'the person, as people read it ("alice (token cli)")' },
    action: { type: 'string' },
    subject: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

export interface GateDeps extends Services {
  box: SecretBox;
  policy: Policy;
  admission: Admission;
  /** Admission requests without a token are answered (but recorded as nothing). */
  admissionAnonymous: boolean;
  /** Queue the signing of an image's attestations (without a digest: of every image attested). */
  attest: (digest?: string) => void;
}

/** Approvals, exceptions, the audit log, trust checks and the Kubernetes admission webhook. */
export function gateRoutes(app: FastifyInstance, s: GateDeps): void {
  const { db } = s;
  const changed = () => s.admission.changed();

  /** An image named by digest, or by tag resolved through its configured registry. */
  async function digestOf(image: string): Promise<{ digest: string; repository: string }> {
    let ref;
    try {
      ref = parseReference(image);
    } catch (err) {
      throw new DomainError('invalid', (err as Error).message);
    }
    const repository = `${ref.domain}/${ref.repository}`;
    if (ref.digest) return { digest: ref.digest, repository };
    const opts = await registryOptions(db, s.box, ref.domain);
    if (!opts)
      throw new DomainError(
        'invalid',
        `name the image by digest: registry ${ref.domain} is not configured here`,
      );
    const client = new RegistryClient(ref.domain, opts);
    try {
      return { digest: (await client.manifest(ref.repository, ref.tag ?? 'latest')).digest, repository };
    } catch (err) {
      throw new DomainError('invalid', `cannot resolve ${image}: ${(err as Error).message}`);
    } finally {
      await client.close();
    }
  }

  app.post<{
    Body: {
      image: string;
      environment: string;
      decision: 'request' | 'approve' | 'reject' | 'revoke';
      reason: string;
    };
  }>(
    '/api/v1/approvals',
    {
      config: { permission: 'report', doing: 'approve or ask for approvals' },
      schema: {
        summary:
          'Request, approve, reject or revoke an image for an environment (approvers for that environment decide)',
        tags: ['gate'],
        body: {
          type: 'object',
          required: ['image', 'environment', 'decision', 'reason'],
          additionalProperties: false,
          properties: {
            image: {
              type: 'string',
              maxLength: 512,
              description: 'registry/repository@sha256:… (or a tag, resolved)',
            },
            environment: envName,
            decision: { type: 'string', enum: ['request', 'approve', 'reject', 'revoke'] },
            reason: { type: 'string', minLength: 1, maxLength: 2000 },
          },
        },
        response: {
          200: approvalRecord,
          400: errorSchema,
          404: errorSchema,
          409: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const { digest, repository } = await digestOf(req.body.image);
      const p = principal(req);
      const r = await asInvalid(() =>
        req.body.decision === 'request'
          ? requestApproval(db, p, digest, req.body.environment, req.body.reason)
          : decideApproval(
              db,
              p,
              digest,
              req.body.environment,
              req.body.decision as 'approve',
              req.body.reason,
              {
                policy: s.policy,
                repository,
              },
            ),
      );
      changed();
      // A request changes no decision; anything else may change the verdicts pushed beside it.
      if (req.body.decision !== 'request') s.attest(digest);
      return (await withPeople(db, [r], ['requestedBy', 'decidedBy']))[0];
    },
  );

  app.get<{ Querystring: { environment?: string; state?: string } }>(
    '/api/v1/approvals',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Approvals and requests, newest first (the queue: state=requested)',
        tags: ['gate'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            environment: envName,
            state: { type: 'string', enum: ['requested', 'approved', 'rejected', 'revoked'] },
          },
        },
        response: { 200: { type: 'array', items: approvalRecord }, ...authErrors },
      },
    },
    async (req) => withPeople(db, await listApprovals(db, req.query), ['requestedBy', 'decidedBy']),
  );

  app.get<{ Params: { digest: string }; Querystring: { environment: string } }>(
    '/api/v1/images/:digest/decision',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Whether an image may run in an environment now, and why (what admission answers)',
        tags: ['gate'],
        params: digestParam,
        querystring: {
          type: 'object',
          required: ['environment'],
          additionalProperties: false,
          properties: { environment: envName },
        },
        response: { 200: decisionRecord, 404: errorSchema, ...authErrors },
      },
    },
    async (req) =>
      asInvalid(() => evaluate(db, req.params.digest, req.query.environment, { policy: s.policy })),
  );

  app.post<{ Params: { digest: string }; Body: { environment: string } }>(
    '/api/v1/images/:digest/verify',
    {
      config: { permission: 'report' },
      schema: {
        summary: "Check the image's signatures and provenance against an environment's trust rules now",
        tags: ['gate'],
        params: digestParam,
        body: {
          type: 'object',
          required: ['environment'],
          additionalProperties: false,
          properties: { environment: envName },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              trusted: { type: 'boolean' },
              reason: { type: 'string' },
              signatures: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
          404: errorSchema,
          ...authErrors,
        },
      },
    },
    async (req) => {
      const g = await gateSettings(db, req.body.environment);
      if (!g) throw new DomainError('not_found', `no environment ${req.body.environment}`);
      const v = await asInvalid(() => checkTrust(db, s.box, req.params.digest, g.trust));
      changed();
      s.attest(req.params.digest);
      return { trusted: v.trusted, reason: v.reason, signatures: v.signatures?.signatures ?? [] };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/environments/:name/gate',
    {
      config: { permission: 'read' },
      schema: {
        summary: "An environment's gate settings",
        tags: ['gate'],
        params: { type: 'object', properties: { name: envName } },
        response: { 200: gateRecord, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const g = await gateSettings(db, req.params.name);
      if (!g) throw new DomainError('not_found', `no environment ${req.params.name}`);
      return g;
    },
  );

  app.put<{ Params: { name: string }; Body: Partial<GateSettings> }>(
    '/api/v1/environments/:name/gate',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Change an environment's gate settings (fields not given keep their value); audited",
        tags: ['gate'],
        params: { type: 'object', properties: { name: envName } },
        body: gateRecord,
        response: { 200: gateRecord, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const g = await gateSettings(db, req.params.name);
      if (!g) throw new DomainError('not_found', `no environment ${req.params.name}`);
      const next: GateSettings = { ...g, ...req.body, trust: { ...g.trust, ...(req.body.trust ?? {}) } };
      await asInvalid(async () => {
        next.trust.keys.forEach((k, i) => trustedKey(k, `trust.keys[${i}]`));
        if (next.trust.trustedRoot)
          keylessVerifier(next.trust.trustedRoot, next.trust.identities, 'trust.trustedRoot');
      });
      await setGate({ db, actor: actorOf(principal(req)) }, req.params.name, g, next);
      changed();
      s.attest();
      return next;
    },
  );

  app.post<{ Body: ExceptionInput }>(
    '/api/v1/exceptions',
    {
      config: { permission: 'report' },
      schema: {
        summary:
          'Waive a vulnerability (optionally in one package) or a policy rule, with a reason and an expiry; pending until signed off where the environment asks',
        tags: ['gate'],
        body: {
          type: 'object',
          required: ['reason', 'expiresAt'],
          additionalProperties: false,
          properties: {
            vulnerability: { type: 'string', minLength: 1, maxLength: 200 },
            package: { type: 'string', minLength: 1, maxLength: 500 },
            rule: { type: 'string', minLength: 1, maxLength: 200 },
            repository: { type: 'string', minLength: 1, maxLength: 500, description: 'registry/repository' },
            digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
            environments: { type: 'array', minItems: 1, maxItems: 50, items: envName },
            reason: { type: 'string', minLength: 1, maxLength: 2000 },
            expiresAt: { type: 'string', maxLength: 40, description: 'ISO-8601 date or time' },
          },
        },
        response: { 201: exceptionRecord, 400: errorSchema, ...authErrors },
      },
    },
    async (req, reply) => {
      const e = await asInvalid(() => createException(db, principal(req), req.body));
      changed();
      // A pending exception changes nothing until it is signed off.
      if (e.state === 'active') s.attest(e.digest);
      reply.code(201);
      return e;
    },
  );

  app.get<{ Querystring: { state?: string; environment?: string } }>(
    '/api/v1/exceptions',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Exceptions, newest first',
        tags: ['gate'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['pending', 'active', 'revoked', 'expired'] },
            environment: envName,
          },
        },
        response: { 200: { type: 'array', items: exceptionRecord }, ...authErrors },
      },
    },
    async (req) =>
      withPeople(db, await listExceptions(db, req.query), ['createdBy', 'approvedBy', 'revokedBy']),
  );

  app.get<{ Querystring: { format: 'customsignore' | 'openvex'; environment?: string } }>(
    '/api/v1/exceptions/export',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The vulnerability exceptions in force as .customsignore.yaml or an OpenVEX document',
        tags: ['gate'],
        querystring: {
          type: 'object',
          required: ['format'],
          additionalProperties: false,
          properties: {
            format: { type: 'string', enum: ['customsignore', 'openvex'] },
            environment: envName,
          },
        },
        response: { 200: { description: 'YAML or OpenVEX JSON' }, ...authErrors },
      },
    },
    async (req, reply) => {
      const list = await listExceptions(db, { state: 'active', environment: req.query.environment });
      if (req.query.format === 'openvex') {
        reply.type('application/json');
        return JSON.stringify(toOpenVex(list, `customs server (${actorOf(principal(req))})`));
      }
      reply.type('application/yaml');
      return toIgnoreFile(list);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/v1/exceptions/:id/approve',
    {
      config: { permission: 'approve' },
      schema: {
        summary: 'Sign off a pending exception (an approver for every environment it covers)',
        tags: ['gate'],
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        response: { 200: exceptionRecord, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const e = await asInvalid(() => signOffException(db, principal(req), req.params.id));
      changed();
      if (e.state === 'active') s.attest(e.digest);
      return e;
    },
  );

  app.post<{ Params: { id: number }; Body: { reason: string } }>(
    '/api/v1/exceptions/:id/revoke',
    {
      config: { permission: 'report' },
      schema: {
        summary: 'Revoke an exception (its author, or an approver for its environments)',
        tags: ['gate'],
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        body: {
          type: 'object',
          required: ['reason'],
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } },
        },
        response: { 200: exceptionRecord, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const e = await asInvalid(() => revokeException(db, principal(req), req.params.id, req.body.reason));
      changed();
      s.attest(e.digest);
      return e;
    },
  );

  app.get<{
    Querystring: { action?: string; subject?: string; actor?: string; before?: number; limit?: number };
  }>(
    '/api/v1/audit',
    {
      config: { permission: 'approve' },
      schema: {
        summary: 'The audit log, newest first (approvers and admins)',
        tags: ['audit'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            action: { type: 'string', maxLength: 100, description: 'prefix, e.g. approval.' },
            subject: { type: 'string', maxLength: 300 },
            actor: { type: 'string', maxLength: 300 },
            before: { type: 'integer', minimum: 1, description: 'entries before this sequence number' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: { 200: { type: 'array', items: auditEntry }, ...authErrors },
      },
    },
    async (req) => withPeople(db, await listAudit(db, req.query), ['actor']),
  );

  app.get(
    '/api/v1/audit/verify',
    {
      config: { permission: 'approve' },
      schema: {
        summary:
          "Walk the audit log's hash chain: ok, or the first entry that was edited, removed or inserted",
        tags: ['audit'],
        response: {
          200: {
            type: 'object',
            properties: {
              ok: { type: 'boolean' },
              entries: { type: 'integer' },
              head: {
                type: 'string',
                description: 'hash of the newest verified entry (keep it elsewhere to detect truncation)',
              },
              broken: {
                type: 'object',
                properties: { seq: { type: 'integer' }, reason: { type: 'string' } },
              },
              signatures: {
                type: 'object',
                description: 'Each entry and the newest one apart are signed with the server key',
                properties: {
                  status: { type: 'string', enum: ['valid', 'unsigned', 'invalid'] },
                  signed: { type: 'integer' },
                  unsigned: { type: 'integer', description: 'entries from before the log was signed' },
                  head: {
                    type: ['object', 'null'],
                    properties: {
                      seq: { type: 'integer' },
                      hash: { type: 'string' },
                      keyId: { type: 'string' },
                    },
                  },
                  keys: { type: 'array', items: { type: 'string' } },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async () => verifyAudit(db),
  );

  const keyRecord = {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'sha256 of the public key (DER), hex' },
      algorithm: { type: 'string' },
      publicKey: { type: 'string', description: 'PEM (SubjectPublicKeyInfo)' },
      createdAt: { type: 'string' },
      retiredAt: { type: ['string', 'null'] },
    },
  } as const;

  const keyList = {
    type: 'object',
    properties: { key: keyRecord, retired: { type: 'array', items: keyRecord } },
  } as const;
  const pem = {
    type: 'string',
    description: 'PEM (SubjectPublicKeyInfo); X-Key-Id: sha256 of the DER key, hex',
  };

  /** The attestation key's public half, as PEM: what cosign, Kyverno and `customs verify --key` read. */
  async function attestationPem(reply: FastifyReply): Promise<string> {
    const k = await loadAttestationKey(db, s.box);
    reply.type('application/x-pem-file').header('x-key-id', k.keyId);
    return k.publicPem;
  }

  app.get<{ Querystring: { format?: 'pem' | 'json' } }>(
    '/api/v1/signing-key',
    {
      schema: {
        summary:
          "The server's public keys. As PEM (the default, or format=pem): the attestation key verdicts, scans and VEX are signed with (give it to cosign verify-attestation --key, Kyverno's verifyImages or customs verify --key). As JSON (Accept: application/json or format=json): the audit log's signing key and retired ones under key/retired, the attestation key and retired ones under attestation",
        tags: ['gate'],
        security: [],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['pem', 'json'] } },
        },
        response: {
          200: {
            content: {
              'application/x-pem-file': { schema: pem },
              'application/json': {
                schema: { ...keyList, properties: { ...keyList.properties, attestation: keyList } },
              },
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

  app.get<{
    Params: { digest: string };
    Querystring: { environment?: string; signed?: string };
  }>(
    '/api/v1/images/:digest/vex',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          "OpenVEX 0.2.0 of the image from the server's records: exceptions in force (not_affected), what the scan found unreachable, findings a newer database withdrew (fixed). signed=1 or Accept: application/vnd.dsse.envelope+json: a DSSE envelope (in-toto statement about the digest) signed with the attestation key",
        tags: ['gate'],
        params: digestParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            environment: {
              ...envName,
              description: 'exceptions in force there (default: those for every environment)',
            },
            signed: { type: 'string', enum: ['1', 'true', '0', 'false'] },
          },
        },
        response: {
          200: { description: 'OpenVEX JSON, or a DSSE envelope of it' },
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

  app.get(
    '/api/v1/attestation-key',
    {
      schema: {
        summary:
          'The attestation key as PEM: the same as GET /api/v1/signing-key (kept for clients of earlier versions)',
        tags: ['gate'],
        security: [],
        response: { 200: { content: { 'application/x-pem-file': { schema: pem } } } },
      },
    },
    async (_req, reply) => attestationPem(reply),
  );

  /** The caller of an admission webhook: a token with `admission`, or anyone with --admission-anonymous. */
  async function admissionCaller(req: FastifyRequest): Promise<(environment: string) => boolean> {
    const p = await principalOf(db, req);
    if (!p && !s.admissionAnonymous)
      throw new DomainError(
        'unauthorized',
        'a token with the admission permission is required (Authorization: Bearer …)',
      );
    if (p && !p.permissions.includes('admission'))
      throw new DomainError(
        'forbidden',
        `a token of role ${p.role} may not ask for admission decisions` +
          // Registry tokens once answered admission too: say what replaces them.
          (p.role === 'webhook'
            ? '; the Kubernetes API server needs a token of role admission (customs server token create --role admission)'
            : ''),
      );
    // Anonymous callers get decisions, but may not write deployments or queue scans into the store;
    // a token limited to some environments writes only there.
    return (environment) => !!p && (!p.environments || p.environments.includes(environment));
  }

  app.post(
    '/admission/validate',
    {
      schema: {
        summary: 'Kubernetes ValidatingAdmissionWebhook (admission.k8s.io/v1 AdmissionReview in and out)',
        tags: ['gate'],
        security: [{ bearer: [] }],
        body: { type: 'object', additionalProperties: true },
        response: { 200: { type: 'object', additionalProperties: true }, ...authErrors },
      },
    },
    async (req) => s.admission.review(req.body, await admissionCaller(req)),
  );

  app.post(
    '/admission/mutate',
    {
      schema: {
        summary:
          'Kubernetes MutatingAdmissionWebhook: the same decision, and a JSON Patch pinning every image admitted by tag to the digest decided on',
        tags: ['gate'],
        security: [{ bearer: [] }],
        body: { type: 'object', additionalProperties: true },
        response: { 200: { type: 'object', additionalProperties: true }, ...authErrors },
      },
    },
    async (req) => s.admission.review(req.body, await admissionCaller(req), true),
  );
}
