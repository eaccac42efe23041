import { Migrator, type Kysely, type Migration } from 'kysely';
import { CustomsError } from '../errors.js';
import type { Engine } from './schema.js';

/**
 * Versioned migrations, in code so they ship inside the package. Each runs on both engines; the
 * few differences (identity columns, blob type) are decided by `engine`.
 */
function migrations(engine: Engine): Record<string, Migration> {
  const id = engine === 'postgres' ? 'serial' : 'integer';
  const blob = engine === 'postgres' ? 'bytea' : 'blob';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pk = (c: any) => (engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
  return {
    '0001-service': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('users')
          .addColumn('id', id, pk)
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('tokens')
          .addColumn('id', id, pk)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text')
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'integer')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();
        await db.schema
          .createTable('registries')
          .addColumn('id', id, pk)
          .addColumn('host', 'text', (c) => c.notNull().unique())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('insecure', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('secrets', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('images')
          .addColumn('id', id, pk)
          .addColumn('registry', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('tags', 'text', (c) => c.notNull())
          .addColumn('platform', 'text')
          .addColumn('first_seen', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .addColumn('latest_scan_id', 'integer')
          .addUniqueConstraint('images_ref', ['registry', 'repository', 'digest'])
          .execute();
        await db.schema.createIndex('images_seen').on('images').columns(['last_seen', 'id']).execute();
        await db.schema
          .createIndex('images_repo')
          .on('images')
          .columns(['repository', 'last_seen'])
          .execute();
        await db.schema.createIndex('images_digest').on('images').column('digest').execute();
        await db.schema
          .createTable('inventories')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('data', blob, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('scans')
          .addColumn('id', id, pk)
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('db_version', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('context', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('grade', 'text', (c) => c.notNull())
          .addColumn('risk', 'real', (c) => c.notNull())
          .addColumn('critical', 'integer', (c) => c.notNull())
          .addColumn('high', 'integer', (c) => c.notNull())
          .addColumn('medium', 'integer', (c) => c.notNull())
          .addColumn('low', 'integer', (c) => c.notNull())
          .addColumn('unknown', 'integer', (c) => c.notNull())
          .addColumn('kev', 'integer', (c) => c.notNull())
          .addColumn('fixable', 'integer', (c) => c.notNull())
          .addColumn('total', 'integer', (c) => c.notNull())
          .addColumn('result', blob, (c) => c.notNull())
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addUniqueConstraint('scans_key', ['digest', 'db_version'])
          .execute();
        await db.schema
          .createTable('jobs')
          .addColumn('id', id, pk)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull().unique())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('run_after', 'text', (c) => c.notNull())
          .addColumn('lease_until', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_ready').on('jobs').columns(['state', 'run_after']).execute();
      },
    },
    '0002-watches': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('watches')
          .addColumn('id', id, pk)
          .addColumn('registry', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('interval_seconds', 'integer', (c) => c.notNull())
          .addColumn('last_polled', 'text')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('watches_ref', ['registry', 'repository'])
          .execute();
      },
    },
    '0003-monitoring': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // (ecosystem, name) → inventories: which images a changed advisory can touch.
        await db.schema
          .createTable('package_index')
          .addColumn('ecosystem', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('package_index_pk', ['ecosystem', 'name', 'digest'])
          .execute();
        await db.schema.createIndex('package_index_digest').on('package_index').column('digest').execute();
        await db.schema
          .createTable('environments')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('exposure', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        const at = new Date().toISOString();
        await db
          .insertInto('environments')
          .values([
            { name: 'production', exposure: 'internet', created_at: at },
            { name: 'staging', exposure: 'internal', created_at: at },
            { name: 'dev', exposure: 'internal', created_at: at },
          ])
          .execute();
        await db.schema
          .createTable('deployments')
          .addColumn('id', id, pk)
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('registry', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('namespace', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('service', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('deployed_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('deployments_by_env')
          .on('deployments')
          .columns(['environment', 'repository', 'namespace', 'service', 'id'])
          .execute();
        // Every database version the server installed, and what its change touched.
        await db.schema
          .createTable('db_versions')
          .addColumn('id', id, pk)
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('bytes', 'integer', (c) => c.notNull())
          .addColumn('changed_packages', 'integer', (c) => c.notNull())
          .addColumn('rescans', 'integer', (c) => c.notNull())
          .addColumn('installed_at', 'text', (c) => c.notNull())
          .execute();
        // Findings that appeared or went away for an image, and the database version that did it.
        await db.schema
          .createTable('finding_events')
          .addColumn('id', id, pk)
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('db_version', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('vulnerability', 'text', (c) => c.notNull())
          .addColumn('package', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('kev', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('finding_events_digest')
          .on('finding_events')
          .columns(['digest', 'id'])
          .execute();
      },
    },
    '0004-alerts': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // What raises an alert per environment: {"critical": true, "kev": true, "epss": 0.5}.
        await db.schema.alterTable('environments').addColumn('alert_rules', 'text').execute();
        await db
          .updateTable('environments')
          .set({ alert_rules: JSON.stringify({ critical: true, kev: true }) })
          .where('name', '=', 'production')
          .execute();
        await db.schema
          .createTable('channels')
          .addColumn('id', id, pk)
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('secret', 'text')
          .addColumn('environments', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('alerts')
          .addColumn('id', id, pk)
          .addColumn('key', 'text', (c) => c.notNull().unique())
          .addColumn('channel_id', 'integer', (c) => c.notNull())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('image', 'text', (c) => c.notNull())
          .addColumn('db_version', 'text', (c) => c.notNull())
          .addColumn('findings', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('run_after', 'text', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('delivered_at', 'text')
          .execute();
        await db.schema.createIndex('alerts_due').on('alerts').columns(['state', 'run_after']).execute();
      },
    },
    '0005-gate': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Which environments a user or token may act for (JSON list; null: all).
        await db.schema.alterTable('users').addColumn('environments', 'text').execute();
        await db.schema.alterTable('tokens').addColumn('environments', 'text').execute();
        // The production gate's settings per environment (JSON, see gate/settings.ts).
        await db.schema.alterTable('environments').addColumn('gate', 'text').execute();
        // What kind of alert a row is (findings, exception-expiry, policy) and its headline.
        await db.schema
          .alterTable('alerts')
          .addColumn('kind', 'text', (c) => c.notNull().defaultTo('findings'))
          .execute();
        await db.schema.alterTable('alerts').addColumn('summary', 'text').execute();
        // One approval state per image digest and environment; its history is in the audit log.
        await db.schema
          .createTable('approvals')
          .addColumn('id', id, pk)
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('requested_by', 'text')
          .addColumn('request_reason', 'text')
          .addColumn('requested_at', 'text')
          .addColumn('decided_by', 'text')
          .addColumn('decision_reason', 'text')
          .addColumn('decided_at', 'text')
          .addColumn('accepted_failures', 'text')
          .addUniqueConstraint('approvals_key', ['digest', 'environment'])
          .execute();
        await db.schema
          .createTable('exceptions')
          .addColumn('id', id, pk)
          .addColumn('vulnerability', 'text')
          .addColumn('package', 'text')
          .addColumn('rule', 'text')
          .addColumn('repository', 'text')
          .addColumn('digest', 'text')
          .addColumn('environments', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('approved_by', 'text')
          .addColumn('approved_at', 'text')
          .addColumn('revoked_by', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('expiry_alerted_at', 'text')
          .execute();
        // Append-only, hash-chained: each entry's hash covers its content and the previous hash.
        await db.schema
          .createTable('audit_log')
          .addColumn('seq', 'integer', (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        // Signature and provenance checks of a digest against an environment's trust rules.
        await db.schema
          .createTable('trust_results')
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('rules', 'text', (c) => c.notNull())
          .addColumn('trusted', 'integer', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('checked_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('trust_results_pk', ['digest', 'rules'])
          .execute();
      },
    },
    '0006-search': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Every package version of every stored inventory ("where do we run log4j-core 2.14.1?").
        await db.schema
          .createTable('package_versions')
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('package_versions_name')
          .on('package_versions')
          .columns(['name', 'version'])
          .execute();
        await db.schema
          .createIndex('package_versions_digest')
          .on('package_versions')
          .column('digest')
          .execute();
        // The findings of each digest's newest scan, by vulnerability id and alias.
        await db.schema
          .createTable('finding_index')
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('vulnerability', 'text', (c) => c.notNull())
          .addColumn('package', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('finding_index_vuln')
          .on('finding_index')
          .column('vulnerability')
          .execute();
        await db.schema.createIndex('finding_index_digest').on('finding_index').column('digest').execute();
      },
    },
    '0007-incremental-results': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // A re-match that changed a few packages' findings stores only those, over a full result.
        await db.schema.alterTable('scans').addColumn('base_id', 'integer').execute();
        // The newest database version this result was found still to hold for (nothing changed).
        await db.schema.alterTable('scans').addColumn('checked_version', 'text').execute();
        // JSON counts the grade is computed from (so a patch needs no full result to grade).
        await db.schema.alterTable('scans').addColumn('tally', 'text').execute();
        // Findings of a package set, stored once by content and shared by the patches naming them.
        await db.schema
          .createTable('finding_sets')
          .addColumn('hash', 'text', (c) => c.primaryKey())
          .addColumn('data', blob, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        // A workload the cluster inventory no longer sees running has ended (nothing runs there).
        await db.schema.alterTable('deployments').addColumn('ended_at', 'text').execute();
        // (digest, package) serves what the digest index served, and a patch's deletes.
        await db.schema
          .createIndex('finding_index_pkg')
          .on('finding_index')
          .columns(['digest', 'package'])
          .execute();
        await db.schema.dropIndex('finding_index_digest').execute();
      },
    },
    '0008-provenance': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Who read an inventory, and so every result matched from it: the server itself
        // (`server-scan`), a client's upload (`reported`) or an attested SBOM. The kind decides
        // which one stands: a server scan replaces a report, never the other way round.
        for (const table of ['inventories', 'scans']) {
          await db.schema
            .alterTable(table)
            .addColumn('provenance_kind', 'text', (c) => c.notNull().defaultTo('server-scan'))
            .execute();
          await db.schema.alterTable(table).addColumn('provenance_by', 'text').execute();
          await db.schema.alterTable(table).addColumn('provenance_at', 'text').execute();
        }
        // Stored before provenance was kept: a CI upload's results have source `ci`.
        await db
          .updateTable('scans')
          .set({ provenance_kind: 'reported', provenance_by: 'ci' })
          .where('source', '=', 'ci')
          .execute();
        await db
          .updateTable('inventories')
          .set({ provenance_kind: 'reported', provenance_by: 'ci' })
          .where('digest', 'in', db.selectFrom('scans').select('digest').where('source', '=', 'ci'))
          .execute();
        await db
          .updateTable('inventories')
          .set((eb) => ({ provenance_at: eb.ref('created_at') }))
          .execute();
        await db
          .updateTable('scans')
          .set((eb) => ({ provenance_at: eb.ref('created_at') }))
          .execute();
      },
    },
    '0009-audit-keys': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Entries written from now on are signed; older ones stay an unsigned prefix of the chain.
        await db.schema.alterTable('audit_log').addColumn('sig', 'text').execute();
        await db.schema.alterTable('audit_log').addColumn('key_id', 'text').execute();
        await db.schema
          .createTable('audit_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('sig', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('server_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('algorithm', 'text', (c) => c.notNull())
          .addColumn('public_pem', 'text', (c) => c.notNull())
          .addColumn('sealed_private', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text')
          .execute();
        await db.schema
          .createTable('sign_in_failures')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('first_at', 'text', (c) => c.notNull())
          .addColumn('last_at', 'text', (c) => c.notNull())
          .addColumn('locked_until', 'text')
          .execute();
      },
    },
    '0010-cluster': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Facts every replica and worker must agree on (the sealed check value of the secret key).
        await db.schema
          .createTable('store_meta')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0011-token-owners': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // The person a token acts for (who issued it), so approvals and the audit log name people.
        await db.schema.alterTable('tokens').addColumn('created_by', 'text').execute();
      },
    },
    '0013-attestations': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // A registry opts in to the server pushing signed scans and verdicts beside its images.
        await db.schema
          .alterTable('registries')
          .addColumn('attest', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        // What was pushed where and until when: the periodic re-signing reads it.
        await db.schema
          .createTable('attestations')
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('registry', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('pushed_at', 'text', (c) => c.notNull())
          .addColumn('valid_until', 'text', (c) => c.notNull())
          .addColumn('verdicts', 'text', (c) => c.notNull())
          .addColumn('content', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('attestations_pk', ['digest', 'registry', 'repository'])
          .execute();
        await db.schema
          .createIndex('attestations_valid_until')
          .on('attestations')
          .column('valid_until')
          .execute();
      },
    },
    '0015-attestation-artifacts': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Manifests the server pushed beside images (OCI referrers): the registry's notification
        // of one is not an image to scan and attest.
        await db.schema
          .createTable('attestation_artifacts')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('pushed_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('attestation_artifacts_pushed_at')
          .on('attestation_artifacts')
          .column('pushed_at')
          .execute();
      },
    },
    '0017-attestation-artifacts-subject': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // Where each referrer was pushed (`registry/repository`): a push there looks up those the
        // server pushed before beside the same image, whatever the registry lists.
        await db.schema.alterTable('attestation_artifacts').addColumn('place', 'text').execute();
        await db.schema
          .createIndex('attestation_artifacts_subject')
          .on('attestation_artifacts')
          .columns(['subject', 'place', 'pushed_at'])
          .execute();
      },
    },
    '0018-scans-digest-id': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // The newest scan of a digest (max id per digest) from the index alone: the environment
        // pages, the fleet re-match's reads and its pointing of images at their new results ask it
        // for thousands of digests at a time; (digest, db_version) left every row's id to the table.
        await db.schema.createIndex('scans_digest_id').on('scans').columns(['digest', 'id']).execute();
      },
    },
    '0014-verdict-stale': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // A change of the gate marks the verdicts it touches instead of removing them: lists show
        // them, marked, while the singleton `verdicts` judges them again off the request path.
        await db.schema.alterTable('verdicts').addColumn('stale_since', 'text').execute();
      },
    },
    '0012-verdicts': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        // The gate's decision per (environment, repository, digest), kept so the overview does not
        // judge every running image on every request (store/verdicts.ts says when a row holds).
        await db.schema
          .createTable('verdicts')
          .addColumn('environment', 'text', (c) => c.notNull())
          .addColumn('repository', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('generation', 'integer', (c) => c.notNull())
          .addColumn('scan_id', 'integer')
          .addColumn('scan_at', 'text')
          .addColumn('policy', 'text', (c) => c.notNull())
          .addColumn('valid_until', 'text')
          .addColumn('computed_at', 'text', (c) => c.notNull())
          .addColumn('allowed', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('summary', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('verdicts_key', ['environment', 'repository', 'digest'])
          .execute();
        await db.schema.createIndex('verdicts_digest').on('verdicts').column('digest').execute();
        await db.schema
          .createTable('verdict_generation')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('generation', 'integer', (c) => c.notNull())
          .execute();
        await db.insertInto('verdict_generation').values({ id: 1, generation: 0 }).execute();
      },
    },
  };
}

/** Bring the schema to the newest version; refuses a database written by a newer Customs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function migrate(db: Kysely<any>, engine: Engine): Promise<void> {
  const list = migrations(engine);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => list },
    migrationTableName: 'customs_migrations',
    migrationLockTableName: 'customs_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const msg = (error as Error).message ?? String(error);
    if (/corrupted migrations/i.test(msg))
      throw new CustomsError(`the service database was written by a newer Customs (${msg})`);
    const failed = results?.find((r) => r.status === 'Error');
    throw new CustomsError(`migration ${failed?.migrationName ?? ''} failed: ${msg}`, undefined, {
      cause: error,
    });
  }
}
