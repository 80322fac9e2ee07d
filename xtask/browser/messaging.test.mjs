// Messaging in a real browser, at phone and desktop sizes, against the loopback fake Mailgun
// (`pi-crm-fakes`): connect a workspace to Mailgun in its email settings, send a test email,
// write to a contact with placeholders and a live preview, send, and watch the contact's log
// pick up Mailgun's signed "delivered" and "opened" webhooks. The fake is asked what it got.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  VIEWPORTS, USER, MAILGUN_FAKE, startServer, startFakes, launchBrowser, newContext, assertNoProblems,
  screenshot, scenario, completeSetup, createWorkspace,
} from './harness.mjs';

const DANA = { first: 'Dana', last: 'Whitfield', email: 'dana.whitfield@example.com' };
const FROM = `${USER.displayName} <olivia@${MAILGUN_FAKE.domain}>`;
const TEST_TO = 'olivia.inbox@example.com';
const SUBJECT = 'Rates for {{first_name}}';
const BODY = "Hi {{first_name|there}},\n\nHere are today's rates.";
const SENT_SUBJECT = `Rates for ${DANA.first}`;
const LOG_TIMEOUT_MS = 15_000;

/** `a@x.test` out of `Name <a@x.test>`. */
const bare = (address) => (/<([^>]+)>\s*$/.exec(address)?.[1] ?? address).trim().toLowerCase();

/** What the fake Mailgun recorded: `messages` or `deliveries`. */
async function fakeMailgun(fakes, what) {
  const res = await fetch(`${fakes.mailgun}/_fake/${what}`);
  assert.equal(res.status, 200, `GET /_fake/${what}`);
  return res.json();
}

async function messagesTo(fakes, address) {
  const all = await fakeMailgun(fakes, 'messages');
  return all.filter((m) => [...m.to, ...m.cc, ...m.bcc].some((a) => bare(a) === address));
}

for (const vp of Object.keys(VIEWPORTS)) {
  describe(`messaging at ${vp} size`, () => {
    const step = scenario(test);
    let server, fakes, browser, page, problems, base, ws, contactUrl, webhookUrl;

    before(async () => {
      server = await startServer();
      base = server.base;
      browser = await launchBrowser();
      ({ page, problems } = await newContext(browser, VIEWPORTS[vp]));
    });
    after(async () => {
      await fakes?.stop();
      await browser?.close();
      await server?.stop();
    });

    const sideways = async () => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    /** How far the content of `locator` sticks out of its box sideways, in pixels (0 when it fits). */
    const overflow = async (locator) => locator.evaluate((e) => Math.max(0, e.scrollWidth - e.clientWidth));
    const toast = (text) => page.locator('#toasts').getByText(text);
    const workspaceNav = () => page.getByRole('navigation', { name: 'Workspace' });
    /** Clicks `button` and waits for the answer to the POST whose path matches `path`. */
    const submit = async (path, button) => {
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && path.test(new URL(r.url()).pathname)),
        button.click(),
      ]);
      return res.status();
    };

    step('set up a workspace, and start the fake Mailgun pointed at its webhook', async () => {
      await completeSetup(page, base);
      ws = await createWorkspace(page, base, 'Rates Team');
      webhookUrl = `${base}/webhooks/mailgun/${ws}`;
      // Started now that the workspace, and so the webhook URL, is known.
      fakes = await startFakes(['--mailgun-webhook', webhookUrl, '--mailgun-events', 'delivered,opened']);
      assertNoProblems(problems);
    });

    step('a contact with a first name and an email', async () => {
      await page.goto(`${base}/w/${ws}/contacts/new`);
      await page.fill('#field-first_name', DANA.first);
      await page.fill('#field-last_name', DANA.last);
      await page.fill('#field-primary_email', DANA.email);
      assert.equal(await submit(/^\/w\/\d+\/contacts$/, page.getByRole('button', { name: 'Save contact' })), 303);
      await page.waitForURL(/\/contacts\/\d+$/);
      contactUrl = page.url();
      await toast(`${DANA.first} ${DANA.last} added.`).waitFor();
      assertNoProblems(problems);
    });

    step('email settings: connect Mailgun (the fake) and see it saved', async () => {
      await workspaceNav().getByRole('link', { name: 'Messages' }).click();
      await page.waitForURL(`${base}/w/${ws}/messages`);
      await page.getByRole('link', { name: 'Email settings' }).click();
      await page.waitForURL(`${base}/w/${ws}/email`);
      assert.match(await page.locator('#email-kind').innerText(), /^Outbox/, 'a new workspace uses the Outbox');

      const form = page.locator('#email-form');
      await form.getByRole('radio', { name: 'Mailgun', exact: true }).check();
      // Each provider's fields sit in a section of their own: choosing Mailgun opens its
      // section and closes the Outbox's.
      const mailgun = form.locator('details[data-kind="mailgun"]');
      await page.waitForFunction(() => document.querySelector('details[data-kind="mailgun"]').open);
      assert.equal(await form.locator('details[data-kind="google"]').evaluate((d) => d.open), false);
      await form.locator('#email-domain').waitFor();
      assert.ok(await mailgun.evaluate((d) => d.open));
      assert.equal((await page.locator('#webhook-url').innerText()).trim(), webhookUrl,
        'the webhook URL is built from the address the server listens on');
      await form.locator('#email-domain').fill(MAILGUN_FAKE.domain);
      await form.locator('#email-region').selectOption('us');
      await form.locator('#email-from').fill(FROM);
      await form.locator('#email-api_key').fill(MAILGUN_FAKE.apiKey);
      await form.locator('#email-webhook_signing_key').fill(MAILGUN_FAKE.signingKey);
      await form.locator('#email-base_url').fill(fakes.mailgun);
      assert.equal(await form.locator('#email-api_key').getAttribute('type'), 'password');
      assert.equal(await submit(/^\/w\/\d+\/email$/, form.getByRole('button', { name: 'Save' })), 303);
      await page.waitForURL(`${base}/w/${ws}/email`);

      await page.locator('#email-kind', { hasText: /^\s*Mailgun\s*$/ }).waitFor();
      await toast('Email now goes through Mailgun.').waitFor();
      // On a phone the toast covers the test email's button: dismiss it, as a person would.
      await page.locator('#toasts').getByRole('button', { name: 'Dismiss' }).click();
      await page.locator('#toasts .toast').waitFor({ state: 'detached' });
      assert.equal(await form.getByRole('radio', { name: 'Mailgun', exact: true }).isChecked(), true);
      assert.equal(await form.locator('#email-domain').inputValue(), MAILGUN_FAKE.domain);
      assert.equal(await form.locator('#email-from').inputValue(), FROM);
      assert.equal(await form.locator('#email-base_url').inputValue(), fakes.mailgun);
      assert.equal(await form.locator('#email-api_key').inputValue(), '', 'a stored key is never shown back');
      assert.match(await form.innerText(), /Stored \(ends …lgun\)/, 'only a hint of the stored key');
      assert.equal(await sideways(), false, 'the email settings fit the screen');
      await screenshot(page, vp, 'email-settings');
      assertNoProblems(problems);
    });

    step('"Send a test email" goes through the fake Mailgun', async () => {
      const form = page.locator('#email-test');
      await form.locator('#test-to').fill(TEST_TO);
      assert.equal(await submit(/^\/w\/\d+\/email\/test$/, form.getByRole('button', { name: 'Send test email' })), 200);
      await page.locator('#test-result').waitFor();
      assert.equal(await page.locator('#test-error').count(), 0);
      assert.match(await page.locator('#test-result').innerText(), new RegExp(`Mailgun took the test email.*${TEST_TO.replace(/\./g, '\\.')}`));
      const got = await messagesTo(fakes, TEST_TO);
      assert.equal(got.length, 1, `one test email to ${TEST_TO}: ${JSON.stringify(got)}`);
      assert.equal(got[0].from, FROM);
      assert.equal(got[0].domain, MAILGUN_FAKE.domain);
      // A long word in the result (a message id, an address) must wrap rather than stick out of
      // its card: by a few pixels it may not yet make the whole page scroll sideways.
      assert.equal(await overflow(page.locator('#test-result')), 0, 'the test result wraps inside its card');
      assert.equal(await sideways(), false, 'the test result fits the screen');
      await screenshot(page, vp, 'email-test');
      assertNoProblems(problems);
    });

    step('write: the live preview fills in the placeholders', async () => {
      await page.goto(contactUrl);
      const compose = page.locator('#compose');
      await compose.waitFor();
      assert.equal(await compose.getByRole('radio', { name: 'Email', exact: true }).isChecked(), true,
        'a contact with an email gets an email by default');
      await compose.locator('#compose-subject').fill(SUBJECT);
      await compose.locator('#compose-body').fill(BODY);
      const preview = page.locator('#compose-preview');
      await preview.getByText(`Subject: ${SENT_SUBJECT}`).waitFor();
      const shown = await preview.innerText();
      assert.match(shown, /^Preview/i); // shown in capitals by CSS
      assert.match(shown, new RegExp(`To: .*${DANA.email.replace(/\./g, '\\.')}`));
      assert.match(shown, new RegExp(`Hi ${DANA.first},`), 'the fallback is not used when the contact has a first name');
      assert.doesNotMatch(shown, /\{\{|\}\}/, 'no placeholder is left');
      assert.doesNotMatch(shown, /Will not be sent/);
      assert.equal(await sideways(), false, 'the contact page with its preview fits the screen');
      await screenshot(page, vp, 'compose-preview');
      assertNoProblems(problems);
    });

    step('send: the contact\'s log shows it sent, then delivered and opened', async () => {
      const status = await submit(/^\/contacts\/\d+\/messages$/, page.locator('#compose').getByRole('button', { name: 'Send', exact: true }));
      assert.equal(status, 303);
      await page.waitForURL(contactUrl);
      await toast(/^The email is on its way/).waitFor();

      // Sent by the queue, then Mailgun's webhooks arrive: reload until the log has all three.
      const wanted = [`Email sent: ${SENT_SUBJECT}`, `Email delivered: ${SENT_SUBJECT}`, `Email opened: ${SENT_SUBJECT}`];
      const deadline = Date.now() + LOG_TIMEOUT_MS;
      let log = '';
      for (;;) {
        log = await page.locator('#log').innerText();
        if (wanted.every((w) => log.includes(w))) break;
        if (Date.now() > deadline) {
          const deliveries = await fakeMailgun(fakes, 'deliveries').catch((e) => e.message);
          assert.fail(`after ${LOG_TIMEOUT_MS} ms the log lacks ${wanted.filter((w) => !log.includes(w)).join(', ')}.\n` +
            `Log:\n${log}\nFake Mailgun's webhooks: ${JSON.stringify(deliveries)}\nServer log:\n${server.log()}`);
        }
        await sleep(500);
        await page.reload();
      }
      // One log entry each: the opened event is logged once.
      for (const w of wanted) {
        assert.equal(await page.locator('#log > li').filter({ hasText: w }).count(), 1, w);
      }
      assert.equal(await sideways(), false, 'the contact page fits the screen');
      await screenshot(page, vp, 'contact-log');
      assertNoProblems(problems);
    });

    step('the fake Mailgun got exactly one email for the contact, and pi-crm took every webhook', async () => {
      const got = await messagesTo(fakes, DANA.email);
      assert.equal(got.length, 1, `exactly one email to ${DANA.email}: ${JSON.stringify(got)}`);
      const [m] = got;
      assert.equal(m.subject, SENT_SUBJECT);
      assert.equal(m.from, FROM);
      assert.match(m.text ?? '', new RegExp(`^Hi ${DANA.first},`));
      assert.doesNotMatch(`${m.subject}\n${m.text ?? ''}\n${m.html ?? ''}`, /\{\{|\}\}/);

      // delivered + opened for the test email and for this one, each answered 200.
      // The fake records a webhook once pi-crm has answered it: allow a moment for the last.
      let deliveries = await fakeMailgun(fakes, 'deliveries');
      for (let tries = 0; deliveries.length < 4 && tries < 50; tries++) {
        await sleep(100);
        deliveries = await fakeMailgun(fakes, 'deliveries');
      }
      assert.equal(deliveries.length, 4, `four webhooks: ${JSON.stringify(deliveries)}`);
      for (const d of deliveries) {
        assert.equal(d.url, webhookUrl);
        assert.deepEqual(d.status, { Ok: 200 }, `webhook ${d.kind}: ${JSON.stringify(d.status)}`);
      }
      assert.deepEqual(deliveries.map((d) => d.kind).sort(), ['delivered', 'delivered', 'opened', 'opened']);
    });

    step('the Messages page counts it as sent, and the Outbox stays empty', async () => {
      await workspaceNav().getByRole('link', { name: 'Messages' }).click();
      await page.waitForURL(`${base}/w/${ws}/messages`);
      assert.match(await page.locator('#queue-state').innerText(), /Sent:\s*1\b/);
      assert.equal((await page.locator('#count-queued').innerText()).trim(), '0');
      assert.equal((await page.locator('#count-failed').innerText()).trim(), '0');
      await page.locator('#outbox').getByText('The Outbox is empty.').waitFor();
      assert.equal(await sideways(), false, 'the Messages page fits the screen');
      await screenshot(page, vp, 'messages');
      assertNoProblems(problems);
    });
  });
}
