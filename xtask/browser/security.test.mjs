// Security checks in a real browser: escaping of user input (XSS), CSRF refusals (from node
// and from a real cross-origin page), security headers, and the session cookie.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  VIEWPORTS, startServer, launchBrowser, newContext, assertNoProblems, expectProblem,
  completeSetup, createWorkspace, cookieHeader,
} from './harness.mjs';

describe('security', () => {
  let server, browser, context, page, problems, base;
  const dialogs = [];

  before(async () => {
    server = await startServer();
    base = server.base;
    browser = await launchBrowser();
    ({ context, page, problems } = await newContext(browser, VIEWPORTS.desktop));
    // No test here should ever open an alert/confirm/prompt.
    context.on('page', (p) => p.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); }));
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    await completeSetup(page, base);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Names of the active workspaces, as listed on /workspaces. */
  async function workspaceNames() {
    await page.goto(base + '/workspaces');
    return page.locator('#workspace-list li').allTextContents();
  }

  /** A form POST to /workspaces from node, with this browser's cookies. */
  async function postWorkspace(fields, headers = {}) {
    return fetch(base + '/workspaces', {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Cookie: await cookieHeader(context, base),
        Origin: base,
        ...headers,
      },
      body: new URLSearchParams({ color: '#2563eb', time_zone: 'UTC', ...fields }),
    });
  }

  describe('XSS: workspace names are shown as text', () => {
    test('an <img onerror> name never becomes an element', async () => {
      const name = '<img src=x onerror=alert(1)>';
      const id = await createWorkspace(page, base, name);
      for (const path of ['/workspaces', `/w/${id}`, `/w/${id}/settings`, `/w/${id}/audit`]) {
        await page.goto(base + path);
        assert.equal(await page.locator('img[src=x]').count(), 0, `an <img src=x> was injected on ${path}`);
        assert.equal(await page.locator('[onerror]').count(), 0, `an onerror attribute was injected on ${path}`);
      }
      await page.goto(`${base}/w/${id}`);
      assert.equal((await page.textContent('#current-workspace')).trim(), name);
      assert.equal((await page.textContent('h1')).trim(), name);
      await page.goto(`${base}/w/${id}/settings`);
      assert.equal(await page.inputValue('#field-name'), name);
      assert.deepEqual(dialogs, []);
      assertNoProblems(problems);
    });

    test('a name that closes the tag and opens a <script> does not run', async () => {
      const name = '"><script>window.__xss=true</script>';
      await page.addInitScript(() => { window.__xss = false; });
      const id = await createWorkspace(page, base, name);
      for (const path of ['/workspaces', `/w/${id}`, `/w/${id}/settings`, `/w/${id}/audit`]) {
        await page.goto(base + path);
        assert.equal(await page.evaluate(() => window.__xss), false, `injected script ran on ${path}`);
        assert.equal(await page.locator('script:not([src])').count(), 0, `inline <script> on ${path}`);
      }
      await page.goto(`${base}/w/${id}`);
      assert.equal((await page.textContent('#current-workspace')).trim(), name);
      assert.deepEqual(dialogs, []);
      assertNoProblems(problems);
    });
  });

  describe('CSRF', () => {
    let token;

    before(async () => {
      await page.goto(base + '/workspaces');
      token = await page.inputValue('form[action="/workspaces"] input[name=csrf_token]');
      assert.ok(token);
    });

    test('a session cookie without the csrf_token is refused (403), nothing is created', async () => {
      const res = await postWorkspace({ name: 'no-token' });
      assert.equal(res.status, 403);
      assert.ok(!(await workspaceNames()).some((n) => n.includes('no-token')));
    });

    test('a valid csrf_token from a foreign Origin is refused (403), nothing is created', async () => {
      const res = await postWorkspace({ name: 'foreign-origin', csrf_token: token }, { Origin: 'http://127.0.0.1:1' });
      assert.equal(res.status, 403);
      assert.ok(!(await workspaceNames()).some((n) => n.includes('foreign-origin')));
    });

    test('control: the same request from our own Origin is accepted', async () => {
      const res = await postWorkspace({ name: 'same-origin', csrf_token: token });
      assert.equal(res.status, 303);
      assert.match(res.headers.get('location'), /^\/w\/\d+$/);
      assert.ok((await workspaceNames()).some((n) => n.includes('same-origin')));
    });

    // 127.0.0.1 on another port is same-site, so the browser sends the session cookie and
    // only the token and Origin checks stand in the way; localhost is cross-site, so SameSite
    // keeps the cookies back as well. Neither may create anything.
    for (const [host, sendsSession] of [['127.0.0.1', true], ['localhost', false]]) {
      test(`an auto-submitting form on http://${host}:<other port> cannot create a workspace`, async () => {
        const attacker = http.createServer((req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
          res.end(`<!doctype html><title>Win a prize</title>
            <form id="f" method="post" action="${base}/workspaces">
              <input name="name" value="evil"><input name="color" value="#dc2626">
              <input name="time_zone" value="UTC">
            </form>
            <script>document.getElementById('f').submit();</script>`);
        });
        await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
        try {
          const evilPage = await context.newPage();
          const [response] = await Promise.all([
            evilPage.waitForResponse((r) => r.url() === base + '/workspaces' && r.request().method() === 'POST'),
            evilPage.goto(`http://${host}:${attacker.address().port}/`),
          ]);
          const sent = await response.request().allHeaders();
          assert.equal(/(^|; )pi-crm-session=/.test(sent.cookie ?? ''), sendsSession, `cookies sent: ${sent.cookie}`);
          assert.equal(response.status(), 403);
          await evilPage.getByText('This page has expired').waitFor();
          await evilPage.close();
          expectProblem(problems, /status of 403/);
        } finally {
          attacker.close();
        }
        assert.ok(!(await workspaceNames()).some((n) => n.includes('evil')));
        assertNoProblems(problems);
      });
    }
  });

  test('security headers are set on pages', async () => {
    for (const path of ['/login', '/workspaces']) {
      const res = await page.goto(base + path);
      const h = await res.allHeaders();
      const csp = h['content-security-policy'] ?? '';
      const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src')) ?? '';
      assert.ok(csp.includes("script-src 'self'"), `CSP on ${path}: ${csp}`);
      assert.ok(!scriptSrc.includes("'unsafe-inline'"), `script-src on ${path}: ${scriptSrc}`);
      assert.ok(!scriptSrc.includes("'unsafe-eval'"), `script-src on ${path}: ${scriptSrc}`);
      assert.equal(h['x-frame-options'], 'DENY');
      assert.equal(h['x-content-type-options'], 'nosniff');
      assert.equal(h['cache-control'], 'no-store');
    }
    assertNoProblems(problems);
  });

  test('session cookie is HttpOnly and SameSite=Lax, and is dead after sign-out', async () => {
    await page.goto(base + '/workspaces');
    const session = (await context.cookies(base)).find((c) => c.name === 'pi-crm-session');
    assert.ok(session, 'no pi-crm-session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(base + '/login?signed_out=1');

    const stale = await browser.newContext();
    try {
      await stale.addCookies([{ name: session.name, value: session.value, url: base }]);
      const stalePage = await stale.newPage();
      await stalePage.goto(base + '/workspaces');
      assert.equal(new URL(stalePage.url()).pathname, '/login');
    } finally {
      await stale.close();
    }
    assert.deepEqual(dialogs, []);
    assertNoProblems(problems);
  });
});
