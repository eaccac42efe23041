/* eslint-disable @typescript-eslint/no-explicit-any -- the provider library has no types here */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
// @ts-expect-error -- oidc-provider ships no type declarations
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { parseRoleMap, roleFor } from '../../src/server/oidc.js';
import { freePort } from '../helpers/registry.js';
import { Api, CustomsServer, makeToken } from '../helpers/server.js';
import { hasChromium, launchChromium } from '../helpers/browser.js';
import { describeStores, freshStore, type TestStore } from '../helpers/stores.js';

// Single sign-on end to end: a real OpenID Connect provider (node-oidc-provider, with its
// development login and consent pages) on loopback, `customs server` as its client, Chromium
// signing in through it. The provider's groups decide the role. On SQLite and on PostgreSQL.
const GROUPS: Record<string, string[]> = { carol: ['sec-leads'], erin: ['platform', 'sec-leads'], dave: [] };

describe('OIDC role mapping', () => {
  it('gives the strongest role the groups grant, with its environments', () => {
    const s = {
      roles: parseRoleMap('sec-leads=approver:production+staging,platform=admin,devs=developer'),
      defaultRole: 'viewer',
    };
    assert.deepEqual(roleFor(['sec-leads'], s), {
      role: 'approver',
      environments: ['production', 'staging'],
    });
    assert.deepEqual(roleFor(['sec-leads', 'platform'], s), { role: 'admin', environments: null });
    assert.deepEqual(roleFor(['other'], s), { role: 'viewer', environments: null });
    assert.equal(roleFor([], { ...s, defaultRole: 'none' }), undefined);
    assert.throws(() => parseRoleMap('x=webhook'), /not group=role/);
    assert.throws(() => parseRoleMap('nonsense'), /not group=role/);
  });
});

describeStores(
  'single sign-on through an OIDC provider',
  { skip: hasChromium() ? false : 'Debian chromium is not installed', timeout: 120_000 },
  (engine) => {
    let tmp: string;
    let store: TestStore;
    let idp: Server;
    let server: CustomsServer;
    let browser: Browser;
    let admin: Api;
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'customs-oidc-'));
      const idpPort = await freePort();
      const port = await freePort();
      const provider = new Provider(`http://127.0.0.1:${idpPort}`, {
        clients: [
          {
            client_id: 'customs',
            client_secret: 'a-client-secret-for-the-test',
            redirect_uris: [`http://127.0.0.1:${port}/api/v1/auth/oidc/callback`],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        claims: { openid: ['sub'], email: ['email'], profile: ['groups', 'preferred_username'] },
        findAccount: async (_ctx: unknown, id: string) => ({
          accountId: id,
          claims: async () => ({
            sub: id,
            email: `${id}@example.test`,
            preferred_username: id,
            groups: GROUPS[id] ?? [],
          }),
        }),
        features: { devInteractions: { enabled: true } },
        cookies: { keys: ['a-cookie-signing-key-for-the-test'] },
      });
      idp = createServer(provider.callback());
      await new Promise<void>((r) => idp.listen(idpPort, '127.0.0.1', r));
      store = await freshStore(engine, join(tmp, 'data'), 'oidc');
      admin = new Api(`http://127.0.0.1:${port}`, makeToken(store.args, 'admin'));
      server = new CustomsServer(
        port,
        [
          ...store.args,
          '--workers',
          '0',
          '--oidc-issuer',
          `http://127.0.0.1:${idpPort}`,
          '--oidc-client-id',
          'customs',
          '--oidc-roles',
          'sec-leads=approver:production,platform=admin',
          '--oidc-default-role',
          'none',
          '--oidc-insecure',
        ],
        { CUSTOMS_OIDC_CLIENT_SECRET: 'a-client-secret-for-the-test' },
      );
      await server.start();
      browser = await launchChromium();
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
      idp?.close();
      await store?.drop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    async function signIn(login: string) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(server.url);
      await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
      // The provider's own login and consent pages.
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('anything');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click(); // consent: continue
      return page;
    }

    it('a member of a mapped group signs in with the role and environments it grants', async () => {
      const page = await signIn('carol');
      await page.getByRole('heading', { name: 'What runs where' }).waitFor();
      assert.match(await page.getByLabel('Signed in as').innerText(), /carol@example\.test \(approver\)/);
      const me = await (await page.context().request.get(`${server.url}/api/v1/auth/session`)).json();
      assert.deepEqual([me.role, me.environments], ['approver', ['production']]);
      const users = (await admin.get('/api/v1/users')).body;
      assert.deepEqual(
        users.filter((u: any) => u.name === 'carol@example.test').map((u: any) => [u.role, u.environments]),
        [['approver', ['production']]],
      );
      const audit = (await admin.get('/api/v1/audit?action=session.start')).body;
      assert.equal(audit[0].actor, 'user:carol@example.test');
      assert.equal(audit[0].details.via, 'oidc');
      // An SSO user has no password here.
      const r = await admin.post('/api/v1/auth/session', {
        username: 'carol@example.test',
        password: '!oidc',
      });
      assert.equal(r.status, 401);
      await page.context().close();
    });

    it('someone in no mapped group is refused, and a forged callback goes nowhere', async () => {
      const page = await signIn('dave');
      await page.getByRole('heading', { name: 'Not allowed here' }).waitFor();
      const refused = (await admin.get('/api/v1/audit?action=session.refused')).body;
      assert.equal(refused[0].actor, 'user:dave@example.test');
      await page.goto(`${server.url}/api/v1/auth/oidc/callback?code=forged&state=forged`);
      await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor();
      assert.equal(
        (await admin.get('/api/v1/users')).body.some((u: any) => u.name === 'dave@example.test'),
        false,
      );
      await page.context().close();
    });
  },
);
