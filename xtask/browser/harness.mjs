// Shared helpers for the browser tests: a private pi-crm server per test file, the loopback
// fakes of Mailgun and Twilio, a headless Chromium, a record of console errors / page errors /
// CSP violations, and screenshots.

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

// ESM ignores NODE_PATH; require() honours it (xtask points it at web-assets/node_modules).
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
export const ARTIFACTS = path.join(REPO_ROOT, 'target', 'browser-artifacts');

export const VIEWPORTS = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
};

export const USER = { username: 'owner', displayName: 'Olivia Owner', password: 'correct horse battery staple' };

const STARTUP_TIMEOUT_MS = 30_000;

/**
 * Starts `$PI_CRM_BIN serve` on a free port with a fresh data directory.
 * Resolves to { base, dataDir, log(), stop() } once it prints `listening on <url>`.
 */
export async function startServer() {
  const bin = process.env.PI_CRM_BIN;
  assert.ok(bin, 'PI_CRM_BIN must point at the pi-crm binary (cargo xtask browser sets it)');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'pi-crm-browser-'));
  const child = spawn(bin, ['serve', '--bind', '127.0.0.1:0', '--data-dir', dataDir], {
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  child.stderr.setEncoding('utf8').on('data', (chunk) => output.push(chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  // The listener stays for the server's lifetime, so stdout is drained and never fills up.
  const lines = createInterface({ input: child.stdout });
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pi-crm did not start in ${STARTUP_TIMEOUT_MS} ms:\n${output.join('')}`)), STARTUP_TIMEOUT_MS);
    lines.on('line', (line) => {
      output.push(line + '\n');
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`pi-crm exited (code ${code}, signal ${signal}) before listening:\n${output.join('')}`));
    });
  });
  let base;
  try {
    base = await started;
  } catch (e) {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  }

  return {
    base,
    dataDir,
    log: () => output.join(''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `$PI_CRM_FAKES_BIN` (the loopback fake Mailgun and Twilio) with `args`, e.g.
 * `['--mailgun-webhook', url, '--mailgun-events', 'delivered,opened']`; both fakes take a
 * free port unless `args` names one. Resolves to { mailgun, twilio, log(), stop() } once it
 * has printed both base URLs. Default keys: see MAILGUN_FAKE.
 */
export async function startFakes(args = []) {
  const bin = process.env.PI_CRM_FAKES_BIN;
  assert.ok(bin, 'PI_CRM_FAKES_BIN must point at the pi-crm-fakes binary (cargo xtask browser sets it)');
  const child = spawn(bin, ['--mailgun-port', '0', '--twilio-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  child.stderr.setEncoding('utf8').on('data', (chunk) => output.push(chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  // It prints a "Mailgun" section, then a "Twilio" one, each with an "API base URL" line.
  const lines = createInterface({ input: child.stdout });
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pi-crm-fakes did not start in ${STARTUP_TIMEOUT_MS} ms:\n${output.join('')}`)), STARTUP_TIMEOUT_MS);
    const urls = {};
    let section = null;
    lines.on('line', (line) => {
      output.push(line + '\n');
      if (/^(Mailgun|Twilio)\s*$/.test(line)) section = line.trim().toLowerCase();
      const m = /^\s*API base URL\s+(http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
      if (m && section) urls[section] = m[1];
      if (urls.mailgun && urls.twilio) { clearTimeout(timer); resolve(urls); }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`pi-crm-fakes exited (code ${code}, signal ${signal}) before starting:\n${output.join('')}`));
    });
  });
  let urls;
  try {
    urls = await started;
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }

  return {
    ...urls,
    log: () => output.join(''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // it waits for Ctrl-C
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

/** The keys the fake Mailgun accepts by default (see crates/fakes/src/bin/pi-crm-fakes.rs). */
export const MAILGUN_FAKE = { apiKey: 'key-fake-mailgun', domain: 'mg.example.test', signingKey: 'fake-signing-key' };

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * A browser context whose pages report every console error, uncaught page error and CSP
 * violation into `problems` (an array of strings); errors loading /favicon.ico go to
 * `faviconProblems` instead.
 */
export async function newContext(browser, viewport, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const problems = [];
  // The browser's own request for /favicon.ico is kept apart, so one missing icon does not
  // hide every other error; tests check it separately.
  const faviconProblems = [];
  // CSP violations also reach the console in Chromium; this catches them even if not.
  await context.exposeBinding('__reportCspViolation', ({ page }, text) => {
    problems.push(`CSP violation on ${page.url()}: ${text}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportCspViolation(`Content Security Policy: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || ''})`);
    });
  });
  const watch = (page) => {
    page.on('console', (msg) => {
      const text = msg.text();
      if (msg.type() === 'error' || /Content Security Policy/i.test(text)) {
        const source = msg.location()?.url;
        const line = `console ${msg.type()} on ${page.url()}: ${text}${source ? ` [${source}]` : ''}`;
        (source && new URL(source).pathname === '/favicon.ico' ? faviconProblems : problems).push(line);
      }
    });
    page.on('pageerror', (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  };
  context.on('page', watch);
  const page = await context.newPage();
  return { context, page, problems, faviconProblems };
}

/** Asserts nothing went wrong in the browser, then forgets what was recorded. */
export function assertNoProblems(problems) {
  const found = problems.splice(0);
  assert.deepEqual(found, [], `browser reported problems:\n${found.join('\n')}`);
}

/**
 * For a step that provokes an error on purpose (Chromium logs "Failed to load resource" for a
 * page answered with 4xx): removes the problems matching `pattern`, asserting there was one.
 */
export function expectProblem(problems, pattern) {
  const matching = problems.filter((p) => pattern.test(p));
  assert.ok(matching.length > 0, `expected a browser problem matching ${pattern}, got:\n${problems.join('\n')}`);
  for (const p of matching) problems.splice(problems.indexOf(p), 1);
}

/**
 * Saves a full-page screenshot as target/browser-artifacts/<viewport>-<name>.png.
 * `caret: 'initial'`: Playwright's default caret hiding leaves an empty `style=""` on every
 * input, which htmx then copies onto swapped-in inputs of the same id (`style` is one of its
 * attributesToSettle), and the CSP (style-src 'self') reports that as a violation.
 */
export async function screenshot(page, viewportName, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${viewportName}-${name}.png`), fullPage: true, caret: 'initial' });
}

/** The first-run setup form: creates USER and signs in. */
export async function completeSetup(page, base, user = USER) {
  await page.goto(base + '/');
  await page.waitForURL(base + '/setup');
  await page.fill('#field-username', user.username);
  await page.fill('#field-display_name', user.displayName);
  await page.fill('#field-password', user.password);
  await page.fill('#field-password_confirm', user.password);
  await Promise.all([
    page.waitForURL(base + '/workspaces'),
    page.getByRole('button', { name: 'Create account' }).click(),
  ]);
}

/** Creates a workspace from /workspaces and returns its id (lands on /w/{id}). */
export async function createWorkspace(page, base, name) {
  if (!page.url().startsWith(base + '/workspaces')) await page.goto(base + '/workspaces');
  await page.fill('#field-name', name);
  await Promise.all([
    page.waitForURL(/\/w\/\d+$/),
    page.getByRole('button', { name: 'Create workspace' }).click(),
  ]);
  return Number(new URL(page.url()).pathname.split('/').pop());
}

/** Cookie header for node-side requests, copied from the browser context. */
export async function cookieHeader(context, base) {
  const cookies = await context.cookies(base);
  return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
}

/**
 * Registers the steps of a scenario whose steps depend on each other, with `test` from
 * node:test: once a step fails, the later ones are skipped instead of failing with
 * confusing follow-on errors.
 */
export function scenario(test) {
  let broken = null;
  return (name, fn) => test(name, async (t) => {
    if (broken) { t.skip(`an earlier step failed: ${broken}`); return; }
    try { await fn(t); } catch (e) { broken = name; throw e; }
  });
}
