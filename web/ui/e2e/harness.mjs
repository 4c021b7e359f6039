// The shared set-up of the browser tests: build the appliance, run `backstop
// serve` on loopback ports, and drive Debian's chromium with playwright-core.
// Each *.test.mjs file starts its own appliance on its own data directory,
// so the files are independent of each other.

import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..', '..');
export const DOC_SHOTS = path.join(REPO, 'docs', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN_PASSWORD = 'e2e-admin-password-1';
export const VIEWPORT = {width: 1366, height: 768};

// tempDir makes the test file's temporary directory.
export function tempDir() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run web/ui/e2e/run.sh, which installs it`);
  return fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-e2e-'));
}

// buildAppliance builds cmd/backstop into dir and returns the binary's path.
export function buildAppliance(dir) {
  const bin = path.join(dir, 'backstop');
  execFileSync('go', ['build', '-o', bin, './cmd/backstop'], {cwd: REPO, stdio: 'inherit'});
  return bin;
}

// Appliance is one `backstop serve` on loopback ports over a data directory.
export class Appliance {
  constructor(bin, data, env = {}) {
    this.bin = bin;
    this.data = data;
    this.env = env;
    this.proc = null;
    this.log = '';
    this.replAddr = '';
  }

  // start runs serve and resolves to its https:// base URL.
  start(extraArgs = []) {
    this.log = '';
    return new Promise((resolve, reject) => {
      const proc = spawn(this.bin, ['serve', '--data', this.data, '--web', '127.0.0.1:0', '--smb', '127.0.0.1:0',
        '--catalyst', '127.0.0.1:0', '--iscsi', '127.0.0.1:0', '--replication', '127.0.0.1:0', ...extraArgs], {
        env: {...process.env, BACKSTOP_ADMIN_PASSWORD: ADMIN_PASSWORD, ...this.env},
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.proc = proc;
      const timer = setTimeout(() => reject(new Error(`serve printed no https:// address within 60 s:\n${this.log}`)), 60000);
      const onData = (chunk) => {
        this.log += chunk.toString();
        const m = this.log.match(/https:\/\/[^\s]+/);
        const r = this.log.match(/replication: (\S+) /);
        if (m && r) {
          this.replAddr = r[1];
          clearTimeout(timer);
          this.url = m[0].replace(/\/+$/, '');
          resolve(this.url);
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code} before listening:\n${this.log}`));
      });
    });
  }

  // stop ends serve with SIGTERM (SIGKILL after the grace period).
  async stop(graceMs = 30000) {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  // restart stops serve, checks that it stopped, and starts it again.
  async restart(extraArgs = []) {
    await this.stop();
    assert.notEqual(this.proc.exitCode, null, `serve did not stop:\n${this.log}`);
    return this.start(extraArgs);
  }
}

// openBrowser launches chromium on a fresh profile in dir. problems
// collects script errors, console errors and 5xx answers, which every test
// file asserts empty at its end; console errors for statuses in expected
// (the answers a test provokes on purpose) are not problems.
export async function openBrowser(dir, baseURL, expected = [401, 404, 409]) {
  const context = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: VIEWPORT,
    ignoreHTTPSErrors: true,
    baseURL,
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  const problems = [];
  const provoked = new RegExp(`status of (${expected.join('|')})\\b`);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !provoked.test(m.text())) {
      problems.push(`console: ${m.text()} (${m.location().url})`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`HTTP ${r.status()} from ${r.request().method()} ${r.url()}`);
  });
  return {context, page, problems};
}

// apiOf returns a function that calls the REST API from inside the page,
// with its session cookie.
export function apiOf(page) {
  return (p) => page.evaluate(async (url) => {
    const r = await fetch(url, {credentials: 'same-origin'});
    return {status: r.status, body: r.status === 204 ? null : await r.json()};
  }, `/api/v1${p}`);
}

// screenshots returns the directory screenshots go to: docs/screenshots/
// with UPDATE_SCREENSHOTS=1, else one inside dir, so a plain run leaves the
// repository as it was.
export function screenshots(dir) {
  const shots = process.env.UPDATE_SCREENSHOTS === '1' ? DOC_SHOTS : path.join(dir, 'screenshots');
  fs.mkdirSync(shots, {recursive: true});
  return shots;
}

// shooter returns shot(name, height), which saves a screenshot of page
// without the pointer hover or passing toasts.
export function shooter(page, dir) {
  return async (name, height) => {
    await page.mouse.move(0, 0);
    await page.evaluate(() => document.querySelector('.toasts')?.remove());
    if (height) await page.setViewportSize({width: VIEWPORT.width, height});
    await page.screenshot({path: path.join(dir, name)});
    if (height) await page.setViewportSize(VIEWPORT);
  };
}

// login signs in on the login page the browser is at or is sent to.
export async function login(page, user = 'admin', password = ADMIN_PASSWORD) {
  await page.locator('#login-user').waitFor();
  await page.fill('#login-user', user);
  await page.fill('#login-pass', password);
  await page.click('.login-form button[type=submit]');
  await page.locator('.whoami-name', {hasText: user}).waitFor();
}
