// The main journeys, at phone and desktop size: first-run setup, workspaces and the switcher,
// workspace settings and audit log, API keys against the real API, signing out and in.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VIEWPORTS, USER, startServer, launchBrowser, newContext, assertNoProblems, expectProblem, screenshot,
  scenario,
} from './harness.mjs';

for (const [vp, viewport] of Object.entries(VIEWPORTS)) {
  describe(`flows at ${vp} size (${viewport.width}x${viewport.height})`, () => {
    let server, browser, page, problems, faviconProblems, base;
    const ids = {};
    let apiKey;
    const step = scenario(test);

    before(async () => {
      server = await startServer();
      base = server.base;
      browser = await launchBrowser();
      ({ page, problems, faviconProblems } = await newContext(browser, viewport));
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    /** Screenshot the page; on a phone, also check it does not scroll sideways. */
    async function capture(name) {
      await screenshot(page, vp, name);
      if (vp === 'phone') {
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth,
        }));
        assert.ok(scrollWidth <= innerWidth + 1,
          `${name} (${page.url()}) scrolls sideways: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
      }
    }

    const currentWorkspace = async () => (await page.textContent('#current-workspace')).trim();
    const toast = (text) => page.locator('#toasts').getByText(text, { exact: true });
    const workspaceNav = () => page.getByRole('navigation', { name: 'Workspace' });

    async function openSwitcher() {
      await page.click('#workspace-switcher > summary');
      await page.locator('#workspace-switcher[open]').waitFor();
      return page.locator('#workspace-switcher');
    }

    async function fetchWorkspaces(key) {
      return fetch(base + '/api/v1/workspaces', { headers: { Authorization: 'Bearer ' + key } });
    }

    step('first run: / leads to setup, which creates the account and lands on /workspaces', async () => {
      await page.goto(base + '/');
      await page.waitForURL(base + '/setup');
      await page.getByRole('heading', { name: 'Welcome to pi-crm' }).waitFor();
      await capture('setup');

      await page.fill('#field-username', USER.username);
      await page.fill('#field-display_name', USER.displayName);
      await page.fill('#field-password', USER.password);
      await page.fill('#field-password_confirm', USER.password);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL(base + '/workspaces');
      await page.getByRole('heading', { name: 'Create your first workspace' }).waitFor();
      await page.getByRole('link', { name: USER.displayName }).waitFor();
      assertNoProblems(problems);
    });

    step('create "Loan Factory": lands on its home, which the switcher shows', async () => {
      await capture('workspaces');
      await page.fill('#field-name', 'Loan Factory');
      await page.getByRole('button', { name: 'Create workspace' }).click();
      await page.waitForURL(/\/w\/\d+$/);
      ids.loan = Number(new URL(page.url()).pathname.split('/').pop());

      await page.getByRole('heading', { level: 1, name: 'Loan Factory' }).waitFor();
      await toast("Workspace 'Loan Factory' created.").waitFor();
      assert.equal(await currentWorkspace(), 'Loan Factory');
      await capture('workspace-home');
      assertNoProblems(problems);
    });

    step('create "RateReady Realtors" from the switcher\'s "+ New workspace"', async () => {
      const switcher = await openSwitcher();
      await switcher.getByRole('link', { name: '+ New workspace' }).click();
      await page.waitForURL(base + '/workspaces#new');

      await page.fill('#field-name', 'RateReady Realtors');
      await page.getByRole('button', { name: 'Create workspace' }).click();
      await page.waitForURL((url) => /^\/w\/\d+$/.test(url.pathname) && url.pathname !== `/w/${ids.loan}`);
      ids.rate = Number(new URL(page.url()).pathname.split('/').pop());
      await toast("Workspace 'RateReady Realtors' created.").waitFor();
      assert.equal(await currentWorkspace(), 'RateReady Realtors');
      assertNoProblems(problems);
    });

    step('switch back to Loan Factory with the switcher', async () => {
      const switcher = await openSwitcher();
      await switcher.locator('a', { hasText: 'Loan Factory' }).click();
      await page.waitForURL(`${base}/w/${ids.loan}`);
      assert.equal(await currentWorkspace(), 'Loan Factory');
      assertNoProblems(problems);
    });

    step('settings: set the postal address and save', async () => {
      await workspaceNav().getByRole('link', { name: 'Settings' }).click();
      await page.waitForURL(`${base}/w/${ids.loan}/settings`);
      await capture('settings');

      const address = 'Loan Factory\n1 Market St\nSan Francisco, CA 94105';
      await page.fill('#field-postal_address', address);
      await page.getByRole('button', { name: 'Save settings' }).click();
      await toast('Settings saved.').waitFor();
      assert.equal(page.url(), `${base}/w/${ids.loan}/settings`);
      assert.equal(await page.inputValue('#field-postal_address'), address);
      assertNoProblems(problems);
    });

    step('audit log lists workspace.create and workspace.update', async () => {
      await workspaceNav().getByRole('link', { name: 'Audit log' }).click();
      await page.waitForURL(`${base}/w/${ids.loan}/audit`);
      const actions = await page.locator('#audit-table summary code').allTextContents();
      assert.ok(actions.includes('workspace.create'), `audit actions: ${actions.join(', ')}`);
      assert.ok(actions.includes('workspace.update'), `audit actions: ${actions.join(', ')}`);
      await capture('audit');
      assertNoProblems(problems);
    });

    step('API key with workspaces:read works against the API', async () => {
      await page.getByRole('link', { name: USER.displayName }).click();
      await page.waitForURL(base + '/settings/account');
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.waitForURL(base + '/settings/api-keys');

      await page.fill('#field-label', 'Browser test');
      await page.check('input[name=scopes][value="workspaces:read"]');
      await page.getByRole('button', { name: 'Create key' }).click();
      apiKey = (await page.locator('#new-key-secret').textContent()).trim();
      assert.match(apiKey, /^pcrm_\S+$/);
      await page.locator('#api-key-list li', { hasText: 'Browser test' }).waitFor();
      await capture('api-keys');

      const res = await fetchWorkspaces(apiKey);
      assert.equal(res.status, 200);
      const names = (await res.json()).items.map((w) => w.name).sort();
      assert.deepEqual(names, ['Loan Factory', 'RateReady Realtors']);
      assertNoProblems(problems);
    });

    step('revoking the key (after confirming) makes the API answer 401', async () => {
      const dialogs = [];
      page.once('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
      const item = page.locator('#api-key-list li', { hasText: 'Browser test' });
      await item.getByRole('button', { name: 'Revoke' }).click();
      await toast("Key 'Browser test' revoked.").waitFor();
      await item.getByText('Revoked').waitFor();
      assert.equal(dialogs.length, 1);
      assert.match(dialogs[0], /Revoke this key\?/);

      const res = await fetchWorkspaces(apiKey);
      assert.equal(res.status, 401);
      assertNoProblems(problems);
    });

    step('sign out lands on /login with "You have signed out."', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(base + '/login?signed_out=1');
      await page.getByText('You have signed out.').waitFor();
      await capture('login');
      // Signed out means signed out: a page that needs a session sends us back to sign in.
      await page.goto(base + '/workspaces');
      assert.equal(new URL(page.url()).pathname, '/login');
      assertNoProblems(problems);
    });

    step('a wrong password is refused with a clear message (422)', async () => {
      await page.fill('#field-username', USER.username);
      await page.fill('#field-password', 'not the password');
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url() === base + '/login' && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      assert.equal(res.status(), 422);
      await page.getByRole('alert')
        .getByText('That username and password do not match. Check both and try again.').waitFor();
      expectProblem(problems, /status of 422/);
      assertNoProblems(problems);
    });

    step('signing in again works and returns to the page that asked for it', async () => {
      await page.fill('#field-username', USER.username);
      await page.fill('#field-password', USER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(base + '/workspaces');
      await page.getByRole('link', { name: USER.displayName }).waitFor();
      await page.locator('#workspace-list', { hasText: 'Loan Factory' }).waitFor();
      assertNoProblems(problems);
    });

    // Browsers ask for /favicon.ico unless the page names an icon; a 404 there is a console
    // error on every first visit.
    test('no page made the browser fetch a missing /favicon.ico', () => {
      assert.deepEqual(faviconProblems, []);
    });
  });
}
