import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { baseLayerCount, planFor, upgrades } from '../../advise/advise.js';
import { releasesBehind } from '../../distro/eol.js';
import { latestResult, policyState } from '../../gate/evaluate.js';
import { waivedOf } from '../../gate/verdicts.js';
import type { Finding } from '../../model/scan.js';
import { evaluatePolicy } from '../../policy/policy.js';
import { explainImageRisk, explainRisk } from '../../rank/explain.js';
import { DomainError } from '../../services/errors.js';
import { inPeopleWords } from '../../services/people.js';
import { environments } from '../../store/deployments.js';
import { imageRefs } from '../../store/search.js';
import { authErrors, errorSchema } from '../errors.js';
import { DigestParam } from '../schemas/common.js';
import { ImageView, ImageViewQuery } from '../schemas/image-view.js';
import type { GateDeps } from './deps.js';

const OS_TYPES = new Set(['apk', 'deb', 'rpm', 'alpm', 'portage']);

/** A finding with its risk in words, the CLI's `--explain` text: the page shows it, never rebuilds it. */
const explained = <F extends Finding>(f: F): F & { risk: { explanation: string } } => ({
  ...f,
  risk: { ...f.risk, explanation: explainRisk(f) },
});

/** An image's page in one answer. */
export function imageViewRoutes(base: FastifyInstance, s: GateDeps): void {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = s;

  app.get(
    '/api/v1/images/:digest/view',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          "An image's page in one answer: layers and their Dockerfile steps, packages (base or application), findings ranked by risk after the environment's exceptions, advice, decisions per environment",
        tags: ['images'],
        params: DigestParam,
        querystring: ImageViewQuery,
        response: { 200: ImageView, 400: errorSchema, 404: errorSchema, ...authErrors },
      },
    },
    async (req) => {
      const digest = req.params.digest;
      const environment = req.query.environment ?? 'production';
      const latest = await latestResult(db, digest);
      if (!latest) throw new DomainError('not_found', `no scan of ${digest}`);
      const state = await policyState(db, digest, environment, { policy: s.policy });
      const r = state.result ?? latest.result;
      const base = baseLayerCount(r);
      const adv = upgrades(r, base);
      const rules = s.policy.environments[environment] ? evaluatePolicy(s.policy, environment, r) : [];
      const envs = await environments(db);
      const judged = [];
      for (const e of envs) judged.push(await s.admission.decision(digest, e.name));
      // People, not tokens, in the reasons shown ("approved for production by alice (token cli)").
      const said = await inPeopleWords(
        db,
        judged.map((d) => d.reasons),
      );
      const decisions = judged.map((d, i) => ({ ...d, reasons: said[i] }));
      const refs = await imageRefs(db, digest);
      return {
        digest,
        environment,
        names: refs.map((x) => `${x.registry}/${x.repository}`),
        tags: [...new Set(refs.flatMap((x) => JSON.parse(x.tags) as string[]))],
        scan: state.scan,
        // Who read the inventory this result comes from: the server, or a client's report.
        provenance: latest.provenance,
        image: {
          os: r.os ? `${r.os.name ?? r.os.id} ${r.os.version ?? ''}`.trim() : null,
          // The base image's release: end of life, and how many newer releases exist.
          base: r.os
            ? {
                eol: r.os.eol?.date ?? null,
                endOfLife: r.os.eol?.endOfLife ?? null,
                releasesBehind: releasesBehind(r.os.id, r.os.version) ?? null,
              }
            : null,
          created: r.image.created ?? null,
          architecture: r.image.architecture ?? null,
          layers: r.image.layers.map((l, i) => ({
            index: i,
            digest: l.diffId,
            size: l.size,
            createdBy: l.createdBy ?? null,
            base: i < base,
          })),
          attestations: r.image.attestations ?? [],
        },
        // Counted after this environment's exceptions (what the gate sees); `waived`: what they set aside.
        summary: r.summary,
        waived: waivedOf(r),
        // The image's risk over the findings shown (after this environment's exceptions), in words.
        risk: explainImageRisk(r.findings, r.suppressed?.length ?? 0),
        coverage: r.coverage ?? null,
        // What the scan said about itself (a stale database, a source that failed, files passed over).
        warnings: r.warnings ?? [],
        findings: [...r.findings]
          .sort(
            (a, b) =>
              Number(b.kind === 'malicious') - Number(a.kind === 'malicious') || b.risk.score - a.risk.score,
          )
          .map(explained),
        suppressed: (r.suppressed ?? []).map(explained),
        secrets: r.secrets ?? [],
        misconfigurations: r.misconfigurations ?? [],
        packages: r.packages.map((p) => ({
          name: p.name,
          version: p.version,
          type: p.type,
          purl: p.purl,
          layer: p.layer?.index ?? null,
          origin: OS_TYPES.has(p.type) || (p.layer?.index ?? Infinity) < base ? 'base' : 'application',
        })),
        advice: {
          upgrades: adv.upgrades,
          unfixable: adv.unfixable,
          plan: planFor(rules, { upgrades: adv.upgrades }, r),
        },
        policy: rules,
        decisions,
      };
    },
  );
}
