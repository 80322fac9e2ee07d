// The import wizard in a real browser, at phone and desktop sizes: upload a Google Contacts
// export from the contacts page, check the preview and the suggested mapping, a dry run with a
// failed row, the import itself, the contacts it made, the failed rows download, and undo.
// Then the Export CSV button.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  VIEWPORTS, startServer, launchBrowser, newContext, assertNoProblems, screenshot,
  scenario, completeSetup, createWorkspace,
} from './harness.mjs';

const GOOGLE = [
  'First Name,Last Name,Organization Name,Labels,E-mail 1 - Value,Phone 1 - Value,Closing Date',
  'Jane,Doe,Acme Realty,Clients ::: * myContacts,jane@acme.example,(415) 555-0123,2026-05-01',
  'Raj,Patel,,* starred,raj@example.com,,2026-06-15',
  'Bad,Row,,,not-an-email,,2026-07-01',
].join('\n') + '\n';

for (const vp of Object.keys(VIEWPORTS)) {
  describe(`import wizard at ${vp} size`, () => {
    const step = scenario(test);
    let server, browser, page, problems, base, ws, importUrl;

    before(async () => {
      server = await startServer();
      base = server.base;
      browser = await launchBrowser();
      ({ page, problems } = await newContext(browser, VIEWPORTS[vp]));
      page.on('dialog', (d) => d.accept());
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    const sideways = async () => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);

    step('upload from the contacts page opens the preview with the columns mapped', async () => {
      await completeSetup(page, base);
      ws = await createWorkspace(page, base, 'Realty');
      await page.goto(`${base}/w/${ws}/contacts`);
      await Promise.all([page.waitForURL(`${base}/w/${ws}/imports`), page.getByRole('link', { name: 'Import', exact: true }).click()]);
      await page.setInputFiles('#import-file', { name: 'google.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOGLE) });
      await Promise.all([page.waitForURL(/\/imports\/\d+$/), page.getByRole('button', { name: 'Upload and preview' }).click()]);
      importUrl = page.url();
      assert.match(await page.locator('#read-options').innerText(), /Found 3 rows/);
      assert.equal(await page.locator('#col-4').inputValue(), 'primary_email', 'E-mail 1 - Value');
      assert.equal(await page.locator('#col-5').inputValue(), 'primary_phone');
      assert.equal(await page.locator('#col-3').inputValue(), 'tags', 'Labels');
      assert.equal(await page.locator('#col-6').inputValue(), 'skip', 'no field yet for Closing Date');
      assert.equal(await page.locator('#type-6').inputValue(), 'date', 'its type is guessed');
      assert.equal(await page.locator('#type-6').isVisible(), false, 'the type shows only for a new field');
      assert.equal(await sideways(), false, 'the mapping fits the screen');
      await screenshot(page, vp, 'import-mapping');
      assertNoProblems(problems);
    });

    step('a dry run counts, names the failed row, and changes nothing', async () => {
      await page.selectOption('#col-6', 'new:6');
      assert.equal(await page.locator('#type-6').isVisible(), true, 'choosing a new field shows its type');
      await Promise.all([page.waitForURL(importUrl), page.getByRole('button', { name: 'Dry run (change nothing)' }).click()]);
      // A dry run still running shows its progress and reloads the page when it ends.
      await page.locator('#dry-run-result').waitFor({ timeout: 20_000 });
      const result = await page.locator('#dry-run-result').innerText();
      assert.match(result, /2 new/);
      assert.match(result, /1 failed/);
      assert.equal(await page.locator('#col-6').inputValue(), 'new:6', 'the choices made stay');
      const failures = await page.request.get(`${base}${await page.getByRole('link', { name: /failed rows/ }).getAttribute('href')}`);
      assert.equal(failures.status(), 200);
      assert.match(await failures.text(), /not-an-email/);
      const contacts = await page.request.get(`${base}/w/${ws}/contacts.csv`);
      assert.equal((await contacts.text()).trim().split('\n').length, 1, 'only the header: nothing imported');
      assertNoProblems(problems);
    });

    step('the import runs, shows its outcome, and the contacts are there', async () => {
      await Promise.all([page.waitForURL(importUrl), page.getByRole('button', { name: /^Import 3 rows$/ }).click()]);
      // Small files finish at once; a running import polls and reloads when it ends.
      await page.locator('#import-outcome').waitFor({ timeout: 20_000 });
      const outcome = await page.locator('#import-outcome').innerText();
      assert.match(outcome, /Imported/);
      assert.match(outcome, /2 new/);
      await screenshot(page, vp, 'import-done');
      await Promise.all([page.waitForURL(`${base}/w/${ws}/contacts`), page.getByRole('link', { name: 'See the contacts' }).click()]);
      await page.locator('#contact-results').getByRole('link', { name: /Jane Doe/ }).first().waitFor();
      const exported = await page.request.get(`${base}/w/${ws}/contacts.csv`);
      assert.equal(exported.status(), 200);
      assert.match(exported.headers()['content-disposition'], /attachment/);
      const text = await exported.text();
      assert.ok(text.startsWith('\uFEFF'), 'a byte-order mark for Excel');
      assert.match(text, /closing_date/);
      assert.match(text, /2026-05-01/);
      assertNoProblems(problems);
    });

    step('undo removes what the import made', async () => {
      await page.goto(importUrl);
      await Promise.all([page.waitForURL(importUrl), page.getByRole('button', { name: 'Undo this import' }).click()]);
      assert.match(await page.locator('#import-outcome').innerText(), /Undone/);
      await page.goto(`${base}/w/${ws}/contacts`);
      assert.equal(await page.locator('#contact-results').getByRole('link', { name: /Jane Doe/ }).count(), 0);
      assertNoProblems(problems);
    });
  });
}
