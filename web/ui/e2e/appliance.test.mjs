// Browser tests of the web UI: real headless Chromium (Debian's package)
// driven by playwright-core, against the real backstop binary.
// Run with ./run.sh (installs what is missing) or `node --test ui.test.mjs`.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import {mkdtempSync, writeFileSync, mkdirSync, rmSync} from 'node:fs';
import {randomBytes} from 'node:crypto';
import {tmpdir} from 'node:os';
import {join, resolve, dirname} from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
// Screenshots go to docs/screenshots with UPDATE_SCREENSHOTS=1, else to the
// test's work directory (so that a test run leaves the repo unchanged).
const shotsToDocs = process.env.UPDATE_SCREENSHOTS === '1';
const password = 'browser-test-' + randomBytes(6).toString('hex');
let work, shots, serve, url, browser, page;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'backstop-ui-'));
  shots = shotsToDocs ? join(repo, 'docs', 'screenshots') : join(work, 'screenshots');
  const bin = join(work, 'backstop');
  execFileSync('go', ['build', '-o', bin, './cmd/backstop'], {cwd: repo, stdio: 'inherit'});
  // Data written with `backstop put` before the appliance starts: the same
  // 8 MiB twice, so the dashboard has a dedup ratio of about 2.
  const data = join(work, 'data');
  const file = join(work, 'backup.bin');
  writeFileSync(file, randomBytes(8 << 20));
  for (const name of ['monday', 'tuesday']) {
    execFileSync(bin, ['put', '--data', data, name, file], {stdio: 'pipe'});
  }
  serve = spawn(bin, ['serve', '--data', data, '--web', '127.0.0.1:0'], {
    env: {...process.env, BACKSTOP_ADMIN_PASSWORD: password}, stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error('serve printed no address:\n' + out)), 20000);
    serve.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/https:\/\/[^\s]+/);
      if (m) {
        clearTimeout(timer);
        ok(m[0]);
      }
    });
    serve.on('exit', (code) => fail(new Error(`serve exited ${code}:\n${out}`)));
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ignoreHTTPSErrors: true, viewport: {width: 1366, height: 768}});
  page = await ctx.newPage();
  mkdirSync(shots, {recursive: true});
});

after(async () => {
  await browser?.close();
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await new Promise((ok) => serve.on('exit', ok));
  }
  if (work) rmSync(work, {recursive: true, force: true});
});

// api calls the REST API from the page, with its session cookie.
const api = (path) => page.evaluate((p) => fetch('/api/v1' + p).then((r) => r.json()), path);

test('log in with a wrong password, then the right one', async () => {
  await page.goto(url);
  await page.getByLabel(/user ?name/i).fill('admin');
  await page.getByLabel(/password/i).fill('not-the-password');
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.getByRole('alert').filter({hasText: /wrong|password/i}).waitFor();
  await page.getByLabel(/password/i).fill(password);
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.getByRole('heading', {name: 'Dashboard'}).waitFor();
});

test('the dashboard shows the real figures', async () => {
  const st = await api('/status');
  assert.equal(st.items, 2);
  assert.ok(st.dedup_ratio > 1.9, `dedup ratio ${st.dedup_ratio}`);
  const main = page.locator('main');
  await main.getByText(/2\.00\s*:\s*1/).first().waitFor();
  await main.getByText('16.0 MiB').first().waitFor(); // logical: two 8 MiB backups
  await page.waitForTimeout(500);
  await page.screenshot({path: join(shots, 'dashboard.png')});
});

test('create a store and delete it', async () => {
  await page.getByRole('link', {name: 'Stores'}).click();
  await page.getByRole('heading', {name: 'Stores'}).waitFor();
  await page.getByRole('button', {name: 'New store'}).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('input[name=name]').fill('nightly');
  await dialog.getByRole('button', {name: 'Create store'}).click();
  const row = page.locator('tr[data-store="nightly"]');
  await row.waitFor();
  assert.ok((await api('/stores')).some((s) => s.name === 'nightly'));
  await page.screenshot({path: join(shots, 'stores.png')});
  await row.getByRole('button', {name: 'Delete'}).click();
  await page.getByRole('dialog').getByRole('button', {name: 'Delete store'}).click();
  await row.waitFor({state: 'detached'});
  assert.ok(!(await api('/stores')).some((s) => s.name === 'nightly'));
});

test('run a verify and see it finish without damage', async () => {
  await page.getByRole('link', {name: 'Jobs'}).click();
  await page.locator('[data-action="verify-start"]').click();
  for (let i = 0; i < 60; i++) {
    const v = await api('/verify');
    if (v.state === 'done') {
      assert.equal(v.damage.length, 0);
      break;
    }
    assert.ok(['running', 'done'].includes(v.state), `verify state ${v.state}`);
    await page.waitForTimeout(500);
  }
  await page.locator('main').getByText(/no damage/i).first().waitFor();
});

test('log out', async () => {
  await page.getByRole('button', {name: /log out/i}).click();
  await page.getByRole('button', {name: 'Log in'}).waitFor();
  const r = await page.evaluate(() => fetch('/api/v1/sessions/current').then((r) => r.status));
  assert.equal(r, 401);
});
