// The contacts feature in a real browser: custom fields in settings, the new-contact form
// (with custom inputs and the duplicate warning), the contact page (call/text/email links,
// editing, the log and its tabs, notes, pinned notices, trash and restore), search and
// filters on the contacts table (htmx, bookmarkable), and the board (moving a card).
// All of it at desktop size; a shorter pass at phone size.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VIEWPORTS, startServer, launchBrowser, newContext, assertNoProblems, expectProblem, screenshot,
  scenario, completeSetup, createWorkspace,
} from './harness.mjs';

const MONA = {
  first: 'Monalisa', last: 'Reyes', email: 'm.reyes@example.com', phone: '(415) 555-0123',
  company: 'Reyes Realty', tags: 'Hot Leads, Referred by John',
  closingDate: '2026-12-01', loanFile: 'https://files.example.com/loans/1001',
};
const BOB = {
  first: 'Bob', last: 'Smith', email: 'bob.smith@example.com', phone: '415-555-0199',
  company: 'Smith & Co', stage: 'Prospects', tags: 'Hot Leads',
};
// The phone pass defines no custom fields: base fields only.
const MONA_PHONE = { first: MONA.first, last: MONA.last, email: MONA.email, phone: MONA.phone, company: MONA.company };
// Same email as MONA: the form warns before saving.
const JORDAN = { first: 'Jordan', last: 'Lee', email: MONA.email, company: 'Lee Lending' };

const fullName = (c) => `${c.first} ${c.last}`;
const idFromUrl = (url) => Number(/\/contacts\/(\d+)/.exec(new URL(url).pathname)[1]);

/** Ids used by more than one element: a label's `for` then points at the wrong input. */
async function duplicateIds(page) {
  return page.evaluate(() => {
    const seen = new Map();
    for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id, n]) => `#${id} x${n}`);
  });
}

/** Shared by both viewports: the page, its problems, screenshots and page checks. */
function browserSession(vp) {
  // Layout findings are collected and asserted by tests of their own at the end, so that one
  // page that scrolls sideways does not hide what the rest of the journey would find.
  const s = {
    vp, server: null, browser: null, page: null, problems: null, base: null,
    sidewaysReport: [], duplicateIdReport: [],
  };

  /** Screenshot; notes whether the page scrolls sideways (phone) and any duplicate ids. */
  s.capture = async (name) => {
    const { page } = s;
    await screenshot(page, vp, name);
    const where = `${vp}-${name}.png (${new URL(page.url()).pathname})`;
    if (vp === 'phone') {
      const { scrollWidth, innerWidth } = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
      }));
      if (scrollWidth > innerWidth + 1) s.sidewaysReport.push(`${where}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
    }
    const dups = await duplicateIds(page);
    if (dups.length) s.duplicateIdReport.push(`${where}: ${dups.join(', ')}`);
  };
  s.toast = (text) => s.page.locator('#toasts').getByText(text, { exact: true });
  s.workspaceNav = () => s.page.getByRole('navigation', { name: 'Workspace' });
  s.count = (n) => s.page.locator('#contact-count', { hasText: new RegExp(`^\\s*${n} contacts\\s*$`) });
  /** The visible link to a contact in the results (table on desktop, cards on a phone). */
  s.resultLink = (name) => s.page.locator('#contact-results').getByRole('link', { name });

  /** Fills the new-contact form (already open). */
  s.fillContactForm = async (c) => {
    const { page } = s;
    await page.fill('#field-first_name', c.first);
    await page.fill('#field-last_name', c.last);
    if (c.email) await page.fill('#field-primary_email', c.email);
    if (c.phone) await page.fill('#field-primary_phone', c.phone);
    if (c.company) await page.fill('#field-company', c.company);
    if (c.stage) await page.selectOption('#field-stage', { label: c.stage });
    if (c.tags) await page.fill('#field-tags', c.tags);
    if (c.closingDate) await page.fill('#cf-closing_date', c.closingDate);
    if (c.loanFile) await page.fill('#cf-loan_file_link', c.loanFile);
  };
  /** Clicks "Save contact"; returns the status of the POST (303 saved, 422 refused). */
  s.saveContactForm = async () => {
    const [res] = await Promise.all([
      s.page.waitForResponse((r) => r.request().method() === 'POST' && /\/w\/\d+\/contacts$/.test(r.url())),
      s.page.getByRole('button', { name: 'Save contact' }).click(),
    ]);
    return res.status();
  };

  s.start = async (viewport) => {
    s.server = await startServer();
    s.base = s.server.base;
    s.browser = await launchBrowser();
    ({ page: s.page, problems: s.problems } = await newContext(s.browser, viewport));
  };
  s.stop = async () => {
    await s.browser?.close();
    await s.server?.stop();
  };
  return s;
}

/** The value of the option of `select` whose text starts with `text` ("Hot Leads (2)"). */
async function optionValue(page, select, text) {
  const options = await page.locator(`${select} option`).evaluateAll((os) => os.map((o) => [o.value, o.textContent.trim()]));
  const found = options.find(([, label]) => label === text || label.startsWith(`${text} (`));
  assert.ok(found, `no option "${text}" in ${select}: ${options.map(([, l]) => l).join(', ')}`);
  return found[0];
}

describe(`contacts at desktop size (${VIEWPORTS.desktop.width}x${VIEWPORTS.desktop.height})`, () => {
  const s = browserSession('desktop');
  const step = scenario(test);
  let ws;
  const ids = {};
  let page, base, problems;

  before(async () => {
    await s.start(VIEWPORTS.desktop);
    ({ page, base, problems } = s);
  });
  after(() => s.stop());

  step('first run: set up the account and create "Loan Factory"', async () => {
    await completeSetup(page, base);
    ws = await createWorkspace(page, base, 'Loan Factory');
    assertNoProblems(problems);
  });

  step('settings > custom fields: add "Closing date" (Date) and "Loan file link" (Link, logged)', async () => {
    await s.workspaceNav().getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${base}/w/${ws}/settings`);
    await page.locator('#main').getByRole('link', { name: 'Custom fields' }).click();
    await page.waitForURL(base + '/settings/fields');
    await page.getByText('No fields yet.').waitFor();
    await s.capture('fields-empty');
    const form = page.locator('#new-field');

    const addField = async (label, type, logged) => {
      await form.locator('#field-label').fill(label);
      await form.locator('#field-field_type').selectOption(type);
      await form.locator('#field-scope').selectOption(String(ws));
      if (logged) await form.locator('input[name=transaction_related]').check();
      await form.getByRole('button', { name: 'Add field' }).click();
      await s.toast(`Field '${label}' added.`).waitFor();
      assert.equal(new URL(page.url()).pathname, '/settings/fields');
    };
    await addField('Closing date', 'date', false);
    await addField('Loan file link', 'url', true);

    const closing = page.locator('#field-list > li#field-closing_date');
    const link = page.locator('#field-list > li#field-loan_file_link');
    for (const [row, label, type] of [[closing, 'Closing date', 'Date'], [link, 'Loan file link', 'Link']]) {
      await row.waitFor();
      await row.getByText(label, { exact: true }).waitFor();
      await row.getByText(type, { exact: true }).waitFor();
      await row.getByText('Loan Factory', { exact: true }).waitFor();
    }
    await link.getByText('changes logged').waitFor();
    assert.equal(await closing.getByText('changes logged').count(), 0);
    await s.capture('fields-settings');
    assertNoProblems(problems);
  });

  step('contacts: the workspace nav leads to an empty list with "Add your first contact"', async () => {
    await page.goto(`${base}/w/${ws}`);
    await s.workspaceNav().getByRole('link', { name: 'Contacts' }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts`);
    await page.getByRole('heading', { level: 1, name: 'Contacts' }).waitFor();
    await s.count(0).waitFor();
    await page.getByRole('link', { name: 'Add your first contact' }).waitFor();
    await s.capture('contacts-empty');
    assertNoProblems(problems);
  });

  step('new contact with custom fields: lands on its page with call, text and email links', async () => {
    await page.getByRole('link', { name: 'New contact' }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts/new`);
    assert.equal(await page.getAttribute('#cf-closing_date', 'type'), 'date');
    assert.equal(await page.getAttribute('#cf-loan_file_link', 'type'), 'url');
    assert.equal(await page.inputValue('#field-stage'), await optionValue(page, '#field-stage', 'Leads'));
    await s.fillContactForm(MONA);
    await s.capture('contact-new');
    assert.equal(await s.saveContactForm(), 303);

    await page.waitForURL(/\/contacts\/\d+$/);
    ids.mona = idFromUrl(page.url());
    await s.toast(`${fullName(MONA)} added.`).waitFor();
    assert.equal((await page.textContent('#contact-name')).trim(), fullName(MONA));
    assert.equal((await page.textContent('#contact-stage')).trim(), 'Leads');
    assert.equal(await page.getByRole('link', { name: 'Call', exact: true }).getAttribute('href'), 'tel:+14155550123');
    assert.equal(await page.getByRole('link', { name: 'Text', exact: true }).getAttribute('href'), 'sms:+14155550123');
    assert.equal(await page.getByRole('link', { name: 'Email', exact: true }).getAttribute('href'), `mailto:${MONA.email}`);

    // The form shows what was saved, custom values included.
    const form = page.locator('#contact-form');
    assert.equal(await form.locator('#field-company').inputValue(), MONA.company);
    assert.equal(await form.locator('#field-primary_phone').inputValue(), '(415) 555-0123');
    assert.equal(await form.locator('#field-tags').inputValue(), MONA.tags);
    assert.equal(await form.locator('#cf-closing_date').inputValue(), MONA.closingDate);
    assert.equal(await form.locator('#cf-loan_file_link').inputValue(), MONA.loanFile);
    assert.equal(await form.getByRole('link', { name: 'Open link' }).getAttribute('href'), MONA.loanFile);
    await page.locator('#log').getByText('Contact created', { exact: true }).waitFor();

    // A closing date in the next two weeks is pinned above the contact.
    const days = Math.round((Date.parse(MONA.closingDate) - Date.parse(new Date().toISOString().slice(0, 10))) / 86_400_000);
    if (days >= 0 && days <= 14) {
      await page.locator('#notices').getByText(/Closing date (today|tomorrow|in \d+ days) \(Dec 1, 2026\)/).waitFor();
    }
    await s.capture('contact');
    assertNoProblems(problems);
  });

  step('a second contact, in another stage', async () => {
    await page.goto(`${base}/w/${ws}/contacts/new`);
    await s.fillContactForm(BOB);
    assert.equal(await s.saveContactForm(), 303);
    await page.waitForURL(/\/contacts\/\d+$/);
    ids.bob = idFromUrl(page.url());
    assert.equal((await page.textContent('#contact-name')).trim(), fullName(BOB));
    assert.equal((await page.textContent('#contact-stage')).trim(), BOB.stage);
    assert.equal(await page.locator('#notices').count(), 0, 'no notice expected on a contact without duplicates');
    assertNoProblems(problems);
  });

  step('a third contact with the first one\'s email: warned, links to it, "Save anyway" saves', async () => {
    await page.goto(`${base}/w/${ws}/contacts/new`);
    await s.fillContactForm(JORDAN);
    assert.equal(await s.saveContactForm(), 422);
    const warning = page.locator('#duplicate-warning');
    await warning.getByText(`${fullName(MONA)} already has this email address.`, { exact: false }).waitFor();
    assert.equal(await warning.getByRole('link', { name: 'Open the existing contact' }).getAttribute('href'), `/contacts/${ids.mona}`);
    // What was typed is kept.
    assert.equal(await page.inputValue('#field-first_name'), JORDAN.first);
    assert.equal(await page.inputValue('#field-primary_email'), JORDAN.email);
    await s.capture('contact-new-duplicate');
    expectProblem(problems, /status of 422/);

    await page.check('input[name=allow_duplicate]');
    assert.equal(await s.saveContactForm(), 303);
    await page.waitForURL(/\/contacts\/\d+$/);
    ids.jordan = idFromUrl(page.url());
    assert.notEqual(ids.jordan, ids.mona);
    assert.equal((await page.textContent('#contact-name')).trim(), fullName(JORDAN));
    assertNoProblems(problems);
  });

  step('edit: company and loan file link; "Saved." and the link change is in the log', async () => {
    await page.goto(`${base}/contacts/${ids.mona}`);
    const form = page.locator('#contact-form');
    const newLink = 'https://files.example.com/loans/1002';
    await form.locator('#field-company').fill('Reyes Realty Group');
    await form.locator('#cf-loan_file_link').fill(newLink);
    await form.getByRole('button', { name: 'Save changes' }).click();
    await s.toast('Saved.').waitFor();
    assert.equal(new URL(page.url()).pathname, `/contacts/${ids.mona}`);
    assert.equal(await form.locator('#field-company').inputValue(), 'Reyes Realty Group');
    assert.equal(await form.locator('#cf-loan_file_link').inputValue(), newLink);
    await page.locator('#log').getByText(`Loan file link: ${MONA.loanFile} -> ${newLink}`, { exact: true }).waitFor();
    // Only fields marked "Log changes on the contact" are logged.
    assert.equal(await page.locator('#log').getByText(/^Closing date:/).count(), 0);
    assertNoProblems(problems);
  });

  step('search: typing updates the results in place and the URL can be bookmarked', async () => {
    await page.goto(`${base}/w/${ws}/contacts`);
    await s.count(3).waitFor();
    await s.capture('contacts');

    await page.fill('#contact-search', MONA.first.slice(0, 3));
    await s.count(1).waitFor();
    await s.resultLink(fullName(MONA)).waitFor();
    assert.equal(await s.resultLink(fullName(BOB)).count(), 0);
    await page.waitForURL((url) => url.searchParams.get('q') === 'Mon');

    // The pushed URL shows the same results when opened again.
    const bookmark = page.url();
    await page.goto(bookmark);
    await s.count(1).waitFor();
    assert.equal(await page.inputValue('#contact-search'), 'Mon');

    await page.fill('#contact-search', '');
    await s.count(3).waitFor();

    await page.selectOption('#filter-tag', await optionValue(page, '#filter-tag', 'Referred by John'));
    await s.count(1).waitFor();
    await s.resultLink(fullName(MONA)).waitFor();
    await page.waitForURL((url) => url.searchParams.get('tag') !== null && url.searchParams.get('tag') !== '');

    await page.selectOption('#filter-tag', await optionValue(page, '#filter-tag', 'Hot Leads'));
    await s.count(2).waitFor();
    assert.equal(await s.resultLink(fullName(JORDAN)).count(), 0);
    assertNoProblems(problems);
  });

  step('board: moving the first contact\'s card puts it in the new column and logs it', async () => {
    await s.workspaceNav().getByRole('link', { name: 'Board' }).click();
    await page.waitForURL(`${base}/w/${ws}/board`);
    const card = () => page.locator(`li[data-contact="${ids.mona}"]`);
    const leads = await optionValue(page, `#move-${ids.mona}`, 'Leads');
    const target = await optionValue(page, `#move-${ids.mona}`, 'Applications');
    await page.locator(`section[data-stage="${leads}"] li[data-contact="${ids.mona}"]`).waitFor();
    await s.capture('board');

    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/contacts/${ids.mona}/stage`) && r.request().method() === 'POST'),
      page.selectOption(`#move-${ids.mona}`, target),
    ]);
    await page.locator(`section[data-stage="${target}"] li[data-contact="${ids.mona}"]`).waitFor();
    assert.equal(await page.locator(`section[data-stage="${leads}"] li[data-contact="${ids.mona}"]`).count(), 0);
    assert.equal(await page.inputValue(`#move-${ids.mona}`), target);
    assert.equal(new URL(page.url()).pathname, `/w/${ws}/board`);
    await s.capture('board-moved');

    await card().getByRole('link', { name: fullName(MONA) }).click();
    await page.waitForURL(`${base}/contacts/${ids.mona}`);
    assert.equal((await page.textContent('#contact-stage')).trim(), 'Applications');
    assert.equal(await page.inputValue('#stage-select'), target);
    await page.locator('#log').getByText('Stage: Leads -> Applications', { exact: true }).waitFor();
    assertNoProblems(problems);
  });

  step('contact page: the stage picker moves the contact in place (htmx) and logs it', async () => {
    assert.equal(new URL(page.url()).pathname, `/contacts/${ids.mona}`);
    const closed = await optionValue(page, '#stage-select', 'Closed');
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/contacts/${ids.mona}/stage`) && r.request().method() === 'POST'),
      page.selectOption('#stage-select', closed),
    ]);
    await page.locator('#contact-stage', { hasText: /^Closed$/ }).waitFor();
    await s.toast(`${fullName(MONA)} moved to Closed.`).waitFor();
    await page.locator('#log').getByText('Stage: Applications -> Closed', { exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/contacts/${ids.mona}`);
    assert.equal(await page.inputValue('#stage-select'), closed);
    // The swapped-in page still works: its forms and links are live.
    assert.equal(await page.locator('#contact-form').count(), 1);
    assertNoProblems(problems);
  });

  step('notes: a note joins the log, shows under the Notes tab, and is found by search', async () => {
    const note = 'Prefers texts after 5pm';
    await page.goto(`${base}/contacts/${ids.mona}`);
    await page.fill('#note-body', note);
    await page.getByRole('button', { name: 'Add note' }).click();
    await s.toast('Note added.').waitFor();
    assert.equal(new URL(page.url()).pathname, `/contacts/${ids.mona}`);
    await page.locator('#log').getByText(note, { exact: true }).first().waitFor();

    await page.getByRole('navigation', { name: 'Log tabs' }).getByRole('link', { name: 'Notes' }).click();
    await page.waitForURL(`${base}/contacts/${ids.mona}?tab=note`);
    await page.locator('#log').getByText(note, { exact: true }).first().waitFor();
    assert.equal(await page.locator('#log').getByText('Contact created').count(), 0, 'the Notes tab shows notes only');
    assert.equal(await page.locator('#log > li').count(), 1);

    await page.goto(`${base}/w/${ws}/contacts`);
    await s.count(3).waitFor();
    await page.fill('#contact-search', 'texts after');
    await s.count(1).waitFor();
    await s.resultLink(fullName(MONA)).waitFor();
    assertNoProblems(problems);
  });

  step('calls: a call logged by hand joins the log, marks the contact contacted, and is found by search', async () => {
    await page.goto(`${base}/contacts/${ids.mona}`);
    await page.getByText('never contacted').waitFor();
    await page.getByText('Log a call', { exact: true }).click();
    await page.fill('#call-minutes', '12');
    await page.selectOption('#call-outcome', 'connected');
    await page.fill('#call-note', 'Asked about a rate lock');
    await page.getByRole('button', { name: 'Save call' }).click();
    await s.toast('Call logged.').waitFor();
    assert.equal(new URL(page.url()).pathname, `/contacts/${ids.mona}`);
    await page.locator('#log').getByText('Call: talked for 12 min', { exact: true }).waitFor();
    await page.getByText(/last contacted just now/).waitFor();

    await page.getByRole('navigation', { name: 'Log tabs' }).getByRole('link', { name: 'Calls' }).click();
    await page.waitForURL(`${base}/contacts/${ids.mona}?tab=call`);
    assert.equal(await page.locator('#log > li').count(), 1, 'the Calls tab shows calls only');
    await page.locator('#log').getByText('Call: talked for 12 min', { exact: true }).waitFor();

    await page.goto(`${base}/w/${ws}/contacts`);
    await page.fill('#contact-search', 'rate lock');
    await s.count(1).waitFor();
    await s.resultLink(fullName(MONA)).waitFor();
    assertNoProblems(problems);
  });

  step('trash: "Move to trash" (confirmed) hides the contact; the trash lists it; restore brings it back', async () => {
    await page.goto(`${base}/contacts/${ids.bob}`);
    const dialogs = [];
    page.once('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
    await page.getByRole('button', { name: 'Move to trash' }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts`);
    assert.deepEqual(dialogs, ['Move this contact to the trash? You can restore it for 30 days.']);
    await s.toast(`${fullName(BOB)} moved to the trash. Restore it from its page within 30 days.`).waitFor();
    await s.count(2).waitFor();
    assert.equal(await s.resultLink(fullName(BOB)).count(), 0);

    await page.getByRole('link', { name: 'Trash', exact: true }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts?trash=1`);
    await page.getByRole('heading', { level: 1, name: 'Trash' }).waitFor();
    await s.count(1).waitFor();
    await s.capture('contacts-trash');
    await s.resultLink(fullName(BOB)).click();
    await page.waitForURL(`${base}/contacts/${ids.bob}`);
    await page.locator('#notices').getByText(/In the trash since/).waitFor();

    await page.getByRole('button', { name: 'Restore from trash' }).click();
    await s.toast(`${fullName(BOB)} restored.`).waitFor();
    assert.equal(new URL(page.url()).pathname, `/contacts/${ids.bob}`);
    await page.getByRole('button', { name: 'Move to trash' }).waitFor();
    assert.equal(await page.locator('#notices').count(), 0);

    await page.goto(`${base}/w/${ws}/contacts`);
    await s.count(3).waitFor();
    await s.resultLink(fullName(BOB)).waitFor();
    assertNoProblems(problems);
  });

  step('the duplicate\'s page pins a "Possible duplicate" notice linking to the first contact', async () => {
    await page.goto(`${base}/contacts/${ids.jordan}`);
    const notices = page.locator('#notices');
    await notices.getByText(/Possible duplicate/).waitFor();
    assert.equal(await notices.getByRole('link', { name: fullName(MONA) }).getAttribute('href'), `/contacts/${ids.mona}`);
    await s.capture('contact-duplicate');
    assertNoProblems(problems);
  });

  test('no element id is used twice on the pages visited', () => {
    assert.deepEqual(s.duplicateIdReport, []);
  });
});

describe(`contacts at phone size (${VIEWPORTS.phone.width}x${VIEWPORTS.phone.height})`, () => {
  const s = browserSession('phone');
  const step = scenario(test);
  let ws, id;
  let page, base, problems;

  before(async () => {
    await s.start(VIEWPORTS.phone);
    ({ page, base, problems } = s);
    await completeSetup(page, base);
    ws = await createWorkspace(page, base, 'Loan Factory');
  });
  after(() => s.stop());

  step('the workspace nav leads to the empty contacts list', async () => {
    await s.workspaceNav().getByRole('link', { name: 'Contacts' }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts`);
    await page.getByRole('link', { name: 'Add your first contact' }).waitFor();
    await s.capture('contacts-empty');
    assertNoProblems(problems);
  });

  step('new contact: saving lands on the contact page, with a Call button in reach', async () => {
    await page.getByRole('link', { name: 'Add your first contact' }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts/new`);
    await s.fillContactForm(MONA_PHONE);
    await s.capture('contact-new');
    assert.equal(await s.saveContactForm(), 303);
    await page.waitForURL(/\/contacts\/\d+$/);
    id = idFromUrl(page.url());
    assert.equal((await page.textContent('#contact-name')).trim(), fullName(MONA_PHONE));
    const call = page.getByRole('link', { name: 'Call', exact: true });
    assert.equal(await call.getAttribute('href'), 'tel:+14155550123');
    assert.ok(await call.isVisible());
    await s.capture('contact');
    assertNoProblems(problems);
  });

  step('the list shows it as a card that opens it', async () => {
    await s.workspaceNav().getByRole('link', { name: 'Contacts' }).click();
    await page.waitForURL(`${base}/w/${ws}/contacts`);
    await s.count(1).waitFor();
    const link = s.resultLink(fullName(MONA_PHONE));
    assert.equal(await link.count(), 1, 'one visible link (the card; the table is hidden on a phone)');
    await s.capture('contacts');
    await link.click();
    await page.waitForURL(`${base}/contacts/${id}`);
    await page.locator('#contact-name').waitFor();
    assertNoProblems(problems);
  });

  step('the board shows the card', async () => {
    await s.workspaceNav().getByRole('link', { name: 'Board' }).click();
    await page.waitForURL(`${base}/w/${ws}/board`);
    await page.locator(`li[data-contact="${id}"]`).waitFor();
    await s.capture('board');
    assertNoProblems(problems);
  });

  test('no page scrolls sideways', () => {
    assert.deepEqual(s.sidewaysReport, []);
  });

  test('no element id is used twice on the pages visited', () => {
    assert.deepEqual(s.duplicateIdReport, []);
  });
});
