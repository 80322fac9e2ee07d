// Working with contacts across people and in bulk, at desktop size, with two users in two
// browser contexts: duplicates and merging, sharing a contact (Shared with me, Save As,
// revoking), and bulk actions on the contacts table (tag, move, CSV export).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import {
  VIEWPORTS, USER, startServer, launchBrowser, newContext, assertNoProblems, expectProblem, screenshot,
  scenario, completeSetup, createWorkspace,
} from './harness.mjs';

const VP = 'desktop';
const MONALISA = { username: 'monalisa', password: 'mona lisa smiles at noon' };

// Two contacts with the same email, differing in first name and company.
const ALEX = { first: 'Alex', last: 'Rivera', email: 'a.rivera@example.com', company: 'Rivera Homes' };
const ALEXANDRA = { first: 'Alexandra', last: 'Rivera', email: ALEX.email, company: 'Rivera Holdings' };
// Shared with monalisa, and ticked for the bulk actions with CAROL.
const BOB = { first: 'Bob', last: 'Smith', email: 'bob.smith@example.com', phone: '415-555-0199', company: 'Smith & Co' };
const CAROL = { first: 'Carol', last: 'Diaz', email: 'carol.diaz@example.com', company: 'Diaz Mortgage' };
const TAG = 'Q3 Campaign';

const fullName = (c) => `${c.first} ${c.last}`;
const contactIdFrom = (url) => Number(/^\/contacts\/(\d+)$/.exec(new URL(url).pathname)[1]);

/** `pi-crm user add --username NAME --password-stdin --data-dir DIR`, password on stdin. */
async function addUser(dataDir, { username, password }) {
  const child = spawn(process.env.PI_CRM_BIN,
    ['user', 'add', '--username', username, '--password-stdin', '--data-dir', dataDir],
    { env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s) => { output += s; });
  child.stderr.setEncoding('utf8').on('data', (s) => { output += s; });
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  child.stdin.end(password);
  const code = await exited;
  assert.equal(code, 0, `pi-crm user add failed:\n${output}`);
  assert.match(output, new RegExp(`added user ${username} `));
}

/** Signs in on /login and lands on /workspaces. */
async function signIn(page, base, { username, password }) {
  await page.goto(base + '/login');
  await page.fill('#field-username', username);
  await page.fill('#field-password', password);
  await Promise.all([
    page.waitForURL(base + '/workspaces'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

/**
 * Runs `act` (which submits a form) and waits until a new document has replaced the current
 * one: for forms that come back to the very same URL, where waitForURL would not wait.
 */
async function reloadedBy(page, act) {
  await page.evaluate(() => { document.documentElement.dataset.before = '1'; });
  await act();
  await page.locator('html:not([data-before])').waitFor({ state: 'attached' });
  await page.waitForLoadState('domcontentloaded');
}

/** The value of the option of `select` whose text is `text`, or starts with `text (`. */
async function optionValue(page, select, text) {
  const options = await page.locator(`${select} option`).evaluateAll((os) => os.map((o) => [o.value, o.textContent.trim()]));
  const found = options.find(([, label]) => label === text || label.startsWith(`${text} (`));
  assert.ok(found, `no option "${text}" in ${select}: ${options.map(([, l]) => l).join(', ')}`);
  return found[0];
}

/** A small RFC 4180 reader: rows of cells (quoted cells may hold commas, quotes, newlines). */
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

/** Ids used by more than one element. */
async function duplicateIds(page) {
  return page.evaluate(() => {
    const seen = new Map();
    for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id, n]) => `#${id} x${n}`);
  });
}

describe(`sharing, merging and bulk actions at desktop size (${VIEWPORTS.desktop.width}x${VIEWPORTS.desktop.height})`, () => {
  const step = scenario(test);
  let server, browser, base;
  // Olivia (the first user, from setup) and monalisa, each in a context of their own.
  let page, problems, faviconProblems;
  let mona, monaProblems, monaFavicon;
  let ws, monaWs;
  const ids = {};
  const duplicateIdReport = [];

  before(async () => {
    server = await startServer();
    base = server.base;
    browser = await launchBrowser();
    ({ page, problems, faviconProblems } = await newContext(browser, VIEWPORTS.desktop));
    ({ page: mona, problems: monaProblems, faviconProblems: monaFavicon } = await newContext(browser, VIEWPORTS.desktop));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Screenshot as target/browser-artifacts/desktop-<name>.png; notes duplicate ids. */
  async function capture(p, name) {
    await screenshot(p, VP, name);
    const dups = await duplicateIds(p);
    if (dups.length) duplicateIdReport.push(`${VP}-${name}.png (${new URL(p.url()).pathname}): ${dups.join(', ')}`);
  }
  const toast = (p, text) => p.locator('#toasts').getByText(text, { exact: true });
  const count = (n) => page.locator('#contact-count', { hasText: new RegExp(`^\\s*${n} contacts\\s*$`) });
  const resultLink = (name) => page.locator('#contact-results').getByRole('link', { name, exact: true });
  const logEntry = (p, text) => p.locator('#log').getByText(text, { exact: true });

  /** Creates a contact from the new-contact form; `anyway` ticks "Save anyway" after the warning. */
  async function addContact(c, { anyway = false } = {}) {
    await page.goto(`${base}/w/${ws}/contacts/new`);
    await page.fill('#field-first_name', c.first);
    await page.fill('#field-last_name', c.last);
    await page.fill('#field-primary_email', c.email);
    if (c.phone) await page.fill('#field-primary_phone', c.phone);
    await page.fill('#field-company', c.company);
    const save = async () => {
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${base}/w/${ws}/contacts`),
        page.getByRole('button', { name: 'Save contact' }).click(),
      ]);
      return res.status();
    };
    if (anyway) {
      assert.equal(await save(), 422, 'a second contact with the same email is held back with a warning');
      await page.locator('#duplicate-warning').waitFor();
      expectProblem(problems, /status of 422/);
      await page.check('input[name=allow_duplicate]');
    }
    assert.equal(await save(), 303);
    await page.waitForURL(/\/contacts\/\d+$/);
    assert.equal((await page.textContent('#contact-name')).trim(), fullName(c));
    return contactIdFrom(page.url());
  }

  // ------------------------------------------------------------------ duplicates and merge

  step('setup: Olivia creates "Loan Factory"; monalisa is added with `pi-crm user add`', async () => {
    await completeSetup(page, base);
    ws = await createWorkspace(page, base, 'Loan Factory');
    await addUser(server.dataDir, MONALISA);
    assertNoProblems(problems);
  });

  step('two contacts with the same email, the second saved with "Save anyway"', async () => {
    ids.alex = await addContact(ALEX);
    ids.alexandra = await addContact(ALEXANDRA, { anyway: true });
    assert.notEqual(ids.alex, ids.alexandra);
    assertNoProblems(problems);
  });

  step('the contacts page links to Duplicates, which lists the pair as one group', async () => {
    await page.goto(`${base}/w/${ws}/contacts`);
    await count(2).waitFor();
    await page.locator('#main').getByRole('link', { name: 'Duplicates', exact: true }).click();
    await page.waitForURL(`${base}/w/${ws}/duplicates`);
    await page.getByRole('heading', { level: 1, name: 'Possible duplicates' }).waitFor();
    const groups = page.locator('#duplicate-groups > li');
    assert.equal(await groups.count(), 1);
    await groups.getByText('Same email').waitFor();
    for (const c of [ALEX, ALEXANDRA]) await groups.getByRole('link', { name: fullName(c), exact: true }).waitFor();
    await capture(page, 'duplicates');
    assertNoProblems(problems);
  });

  step('"Compare and merge" opens the merge page with a choice for each conflicting field', async () => {
    await page.locator('#duplicate-groups').getByRole('link', { name: 'Compare and merge' }).click();
    await page.waitForURL(/\/contacts\/\d+\/merge\?source=\d+$/);
    const url = new URL(page.url());
    ids.target = Number(/^\/contacts\/(\d+)\/merge$/.exec(url.pathname)[1]);
    ids.source = Number(url.searchParams.get('source'));
    assert.deepEqual([ids.target, ids.source].sort(), [ids.alex, ids.alexandra].sort());
    ids.targetContact = ids.target === ids.alex ? ALEX : ALEXANDRA;
    ids.sourceContact = ids.target === ids.alex ? ALEXANDRA : ALEX;

    const form = page.locator('#merge-form');
    await form.waitFor();
    const names = await form.locator('input[type=radio]').evaluateAll((rs) => [...new Set(rs.map((r) => r.name))]);
    assert.deepEqual(names.sort(), ['keep.company', 'keep.first_name'],
      'only first name and company differ (last name and email are the same)');
    for (const field of ['first_name', 'company']) {
      const values = await form.locator(`input[name="keep.${field}"]`).evaluateAll((rs) => rs.map((r) => r.value));
      assert.deepEqual(values, ['target', 'source']);
      assert.ok(await form.locator(`input[name="keep.${field}"][value=target]`).isChecked(), `keep.${field} defaults to the target`);
    }
    // Each choice shows the value it keeps.
    const t = ids.targetContact, s = ids.sourceContact;
    const label = (field, side) => form.locator('label', { has: page.locator(`input[name="keep.${field}"][value=${side}]`) });
    assert.equal((await label('first_name', 'target').textContent()).trim(), t.first);
    assert.equal((await label('first_name', 'source').textContent()).trim(), s.first);
    assert.equal((await label('company', 'target').textContent()).trim(), t.company);
    assert.equal((await label('company', 'source').textContent()).trim(), s.company);
    await capture(page, 'merge');
    assertNoProblems(problems);
  });

  step('merging with the source\'s first name and the target\'s company lands on the survivor', async () => {
    const t = ids.targetContact, s = ids.sourceContact;
    const form = page.locator('#merge-form');
    await form.locator('input[name="keep.first_name"][value=source]').check();
    await form.locator('input[name="keep.company"][value=target]').check();
    await Promise.all([
      page.waitForURL(`${base}/contacts/${ids.target}`),
      form.getByRole('button', { name: 'Merge', exact: true }).click(),
    ]);
    ids.merged = { ...t, first: s.first };
    await toast(page, `Merged into ${fullName(ids.merged)}.`).waitFor();
    assert.equal((await page.textContent('#contact-name')).trim(), fullName(ids.merged));
    assert.equal(await page.inputValue('#field-first_name'), s.first);
    assert.equal(await page.inputValue('#field-company'), t.company);
    assert.equal(await page.inputValue('#field-primary_email'), t.email);
    await logEntry(page, `Merged ${fullName(s)} into ${fullName(t)}`).waitFor();
    // No longer a duplicate of anything (the other one is in the trash).
    assert.equal(await page.locator('#notices').getByText(/Possible duplicate/).count(), 0);
    assertNoProblems(problems);
  });

  step('afterwards: the list shows one of them, no duplicates are left, the trash has the other', async () => {
    await page.goto(`${base}/w/${ws}/contacts`);
    await count(1).waitFor();
    await resultLink(fullName(ids.merged)).waitFor();
    // Visible links only (the phone cards are hidden at this size).
    assert.equal(await page.locator('#contact-results').getByRole('link', { name: /Rivera/ }).count(), 1);

    await page.goto(`${base}/w/${ws}/duplicates`);
    await page.getByText('No duplicates found.', { exact: true }).waitFor();
    assert.equal(await page.locator('#duplicate-groups').count(), 0);

    await page.goto(`${base}/w/${ws}/contacts?trash=1`);
    await page.getByRole('heading', { level: 1, name: 'Trash' }).waitFor();
    await count(1).waitFor();
    await resultLink(fullName(ids.sourceContact)).click();
    await page.waitForURL(`${base}/contacts/${ids.source}`);
    await page.locator('#notices').getByText(/In the trash since/).waitFor();
    await logEntry(page, `Merged ${fullName(ids.sourceContact)} into ${fullName(ids.targetContact)}`).waitFor();
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------------ share, Save As, revoke

  step('Olivia shares a contact with monalisa from its "Sharing" section', async () => {
    ids.bob = await addContact(BOB);
    const sharing = page.locator('#sharing');
    await sharing.locator('#share-username').fill(MONALISA.username);
    await reloadedBy(page, () => sharing.getByRole('button', { name: 'Share', exact: true }).click());
    assert.equal(page.url(), `${base}/contacts/${ids.bob}`);
    await toast(page, `Shared with ${MONALISA.username}.`).waitFor();
    await page.locator('#notices').getByText(new RegExp(`^Shared with ${MONALISA.username} since `)).waitFor();
    await sharing.getByRole('button', { name: 'Stop sharing' }).waitFor();
    await logEntry(page, `Shared with ${MONALISA.username}`).waitFor();
    assertNoProblems(problems);
  });

  step('monalisa signs in, creates "Coldwell", and finds the contact under "Shared with me"', async () => {
    await signIn(mona, base, MONALISA);
    monaWs = await createWorkspace(mona, base, 'Coldwell');
    await mona.getByRole('banner').getByRole('link', { name: 'Shared with me' }).click();
    await mona.waitForURL(base + '/shared');
    await mona.getByRole('heading', { level: 1, name: 'Shared with me' }).waitFor();
    const items = mona.locator('#shared-list > li');
    assert.equal(await items.count(), 1);
    await items.getByText(fullName(BOB), { exact: true }).waitFor();
    await items.getByText(new RegExp(`^from ${USER.displayName}, `)).waitFor();
    await capture(mona, 'shared-list');
    assertNoProblems(monaProblems);
  });

  step('the shared contact opens read-only, with "Save As" into her own workspace', async () => {
    await mona.locator('#shared-list').getByRole('link', { name: new RegExp(fullName(BOB)) }).click();
    await mona.waitForURL(/\/shared\/\d+$/);
    ids.share = Number(new URL(mona.url()).pathname.split('/').pop());
    assert.equal((await mona.textContent('#shared-name')).trim(), fullName(BOB));
    await mona.getByText(`Shared with you by ${USER.displayName} · read-only`).waitFor();
    await mona.locator('#main').getByText(BOB.company, { exact: true }).waitFor();
    await mona.locator('#main').getByRole('link', { name: BOB.email }).waitFor();
    // Nothing to edit: no details form, no inputs for the contact's fields, no sharing.
    const main = mona.locator('#main');
    assert.equal(await main.locator('#contact-form').count(), 0);
    assert.equal(await main.locator('input[name=first_name], input[name=company], textarea').count(), 0);
    assert.equal(await main.locator('#sharing').count(), 0);
    const forms = await main.locator('form').evaluateAll((fs) => fs.map((f) => f.getAttribute('action')));
    assert.deepEqual(forms, [`/shared/${ids.share}/save-as`], 'the only form is "Save As"');
    const choices = await mona.locator('#save-as-workspace option').allTextContents();
    assert.deepEqual(choices.map((c) => c.trim()), ['Coldwell'], 'only her own workspaces are offered');
    await capture(mona, 'shared-contact');
    assertNoProblems(monaProblems);
  });

  step('while shared, Olivia\'s own contact page is still 404 for monalisa', async () => {
    const res = await mona.goto(`${base}/contacts/${ids.bob}`);
    assert.equal(res.status(), 404);
    await mona.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    assert.equal(await mona.getByText(BOB.email).count(), 0);
    expectProblem(monaProblems, /status of 404/);
    assertNoProblems(monaProblems);
  });

  step('"Save As" makes her own copy, whose log says where it came from', async () => {
    await mona.goto(`${base}/shared/${ids.share}`);
    await mona.selectOption('#save-as-workspace', { label: 'Coldwell' });
    await Promise.all([
      mona.waitForURL(/\/contacts\/\d+$/),
      mona.getByRole('button', { name: 'Save As', exact: true }).click(),
    ]);
    ids.copy = contactIdFrom(mona.url());
    assert.notEqual(ids.copy, ids.bob);
    await toast(mona, `Saved ${fullName(BOB)} to your workspace.`).waitFor();
    assert.equal((await mona.textContent('#contact-name')).trim(), fullName(BOB));
    assert.equal(await mona.inputValue('#field-company'), BOB.company);
    assert.equal(await mona.inputValue('#field-primary_email'), BOB.email);
    assert.equal((await mona.textContent('#current-workspace')).trim(), 'Coldwell');
    await logEntry(mona, `Saved from a share by ${USER.displayName}`).waitFor();
    assertNoProblems(monaProblems);
  });

  step('Olivia clicks "Stop sharing": the share is gone from her page', async () => {
    await page.goto(`${base}/contacts/${ids.bob}`);
    const sharing = page.locator('#sharing');
    await reloadedBy(page, () => sharing.getByRole('button', { name: 'Stop sharing' }).click());
    assert.equal(page.url(), `${base}/contacts/${ids.bob}`);
    await toast(page, `No longer shared with ${MONALISA.username}.`).waitFor();
    assert.equal(await sharing.getByRole('button', { name: 'Stop sharing' }).count(), 0);
    assert.equal(await page.locator('#notices').getByText(/^Shared with /).count(), 0);
    await logEntry(page, `Stopped sharing with ${MONALISA.username}`).waitFor();
    assertNoProblems(problems);
  });

  step('for monalisa the share is gone (404, not listed) but her saved copy stays', async () => {
    const res = await mona.goto(`${base}/shared/${ids.share}`);
    assert.equal(res.status(), 404);
    await mona.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    assert.equal(await mona.locator('#shared-name').count(), 0);
    expectProblem(monaProblems, /status of 404/);

    await mona.goto(base + '/shared');
    await mona.getByText('Nothing is shared with you right now.', { exact: true }).waitFor();
    assert.equal(await mona.locator('#shared-list').count(), 0);

    const copy = await mona.goto(`${base}/contacts/${ids.copy}`);
    assert.equal(copy.status(), 200);
    assert.equal((await mona.textContent('#contact-name')).trim(), fullName(BOB));
    await mona.locator('#contact-form').waitFor();

    const original = await mona.goto(`${base}/contacts/${ids.bob}`);
    assert.equal(original.status(), 404);
    await mona.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    expectProblem(monaProblems, /status of 404/);
    assertNoProblems(monaProblems);

    // Her copy lives in her workspace only: Olivia's list is unchanged.
    const theirs = await page.goto(`${base}/contacts/${ids.copy}`);
    assert.equal(theirs.status(), 404, 'monalisa\'s copy is not visible to Olivia');
    expectProblem(problems, /status of 404/);
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------------ bulk actions

  step('bulk: tick two rows, "Add tag" "Q3 Campaign", Apply: "Done: 2 contact(s) changed."', async () => {
    ids.carol = await addContact(CAROL);
    await page.goto(`${base}/w/${ws}/contacts`);
    await count(3).waitFor();
    const bulk = page.locator('#bulk');
    await bulk.waitFor();
    for (const id of [ids.bob, ids.carol]) await page.check(`input[name=ids][form=bulk][value="${id}"]`);
    await page.selectOption('#bulk-action', 'add_tag');
    await page.fill('#bulk-tag', TAG);
    await capture(page, 'contacts-bulk');
    await reloadedBy(page, () => bulk.getByRole('button', { name: 'Apply', exact: true }).click());
    assert.equal(new URL(page.url()).pathname, `/w/${ws}/contacts`);
    await toast(page, 'Done: 2 contact(s) changed.').waitFor();
    assertNoProblems(problems);
  });

  step('filtering by the new tag shows exactly those two', async () => {
    await page.selectOption('#filter-tag', await optionValue(page, '#filter-tag', TAG));
    await count(2).waitFor();
    await page.waitForURL((url) => url.searchParams.get('tag') !== null && url.searchParams.get('tag') !== '');
    await resultLink(fullName(BOB)).waitFor();
    await resultLink(fullName(CAROL)).waitFor();
    assert.equal(await resultLink(fullName(ids.merged)).count(), 0);
    assertNoProblems(problems);
  });

  step('"All 2 matching" + "Move to stage": both move', async () => {
    const applications = await optionValue(page, '#bulk-stage', 'Applications');
    const all = page.locator('#bulk-scope option[value=all]');
    assert.equal((await all.textContent()).trim(), 'All 2 matching');
    await page.selectOption('#bulk-scope', 'all');
    await page.selectOption('#bulk-action', 'set_stage');
    await page.selectOption('#bulk-stage', applications);
    const before = page.url();
    await reloadedBy(page, () => page.locator('#bulk').getByRole('button', { name: 'Apply', exact: true }).click());
    await toast(page, 'Done: 2 contact(s) changed.').waitFor();
    // Back to the same filtered view.
    assert.equal(new URL(page.url()).searchParams.get('tag'), new URL(before).searchParams.get('tag'));
    await count(2).waitFor();

    for (const id of [ids.bob, ids.carol]) {
      await page.goto(`${base}/contacts/${id}`);
      assert.equal((await page.textContent('#contact-stage')).trim(), 'Applications');
      await logEntry(page, 'Stage: Leads -> Applications').waitFor();
    }
    // The contact outside the filter stays where it was.
    await page.goto(`${base}/contacts/${ids.target}`);
    assert.equal((await page.textContent('#contact-stage')).trim(), 'Leads');
    assertNoProblems(problems);
  });

  step('"All 2 matching" + "Export as CSV" downloads contacts.csv with those two', async () => {
    await page.goto(`${base}/w/${ws}/contacts`);
    await page.selectOption('#filter-tag', await optionValue(page, '#filter-tag', TAG));
    await count(2).waitFor();
    await page.selectOption('#bulk-scope', 'all');
    await page.selectOption('#bulk-action', 'export');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#bulk').getByRole('button', { name: 'Apply', exact: true }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'contacts.csv');
    assert.equal(await download.failure(), null);
    const text = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '');
    const firstLine = text.split(/\r?\n/)[0];
    assert.ok(firstLine.startsWith('id,first_name,last_name,primary_email,primary_phone,company,'), `header: ${firstLine}`);
    const [header, ...rows] = parseCsv(text).filter((r) => r.length > 1 || r[0] !== '');
    assert.deepEqual(header.slice(-2), ['primary_list', 'tags']);
    assert.equal(rows.length, 2, `rows:\n${text}`);
    const col = (row, name) => row[header.indexOf(name)];
    const byId = new Map(rows.map((r) => [Number(col(r, 'id')), r]));
    assert.deepEqual([...byId.keys()].sort((a, b) => a - b), [ids.bob, ids.carol].sort((a, b) => a - b));
    for (const [id, c] of [[ids.bob, BOB], [ids.carol, CAROL]]) {
      const row = byId.get(id);
      assert.equal(col(row, 'first_name'), c.first);
      assert.equal(col(row, 'last_name'), c.last);
      assert.equal(col(row, 'primary_email'), c.email);
      assert.equal(col(row, 'company'), c.company);
      assert.equal(col(row, 'primary_list'), 'Applications');
      assert.match(col(row, 'tags'), new RegExp(TAG));
    }
    assert.equal(col(byId.get(ids.bob), 'primary_phone'), '+14155550199');
    // The page stays as it was.
    assert.equal(new URL(page.url()).pathname, `/w/${ws}/contacts`);
    await count(2).waitFor();
    assertNoProblems(problems);
  });

  test('no element id is used twice on the pages captured', () => {
    assert.deepEqual(duplicateIdReport, []);
  });

  test('no page made either browser fetch a missing /favicon.ico', () => {
    assert.deepEqual([...faviconProblems, ...monaFavicon], []);
  });
});
