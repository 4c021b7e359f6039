// Layout, theme and API token tests of the web UI: every page at 1280,
// 1366, 1920 and 390 px wide with no element outside its card (measured
// element boxes), the navigation reachable at every width, the dark theme
// following the system's preference, and an API token created in the UI
// and used against the API.
//
// Run with ./run.sh or `node --test --test-concurrency=1 layout.test.mjs`.
// Screenshots (layout-<page>-<width>.png) go to docs/screenshots/ with
// UPDATE_SCREENSHOTS=1.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {Appliance, apiOf, buildAppliance, login, openBrowser, screenshots, tempDir} from './harness.mjs';

const WIDTHS = [1280, 1366, 1920, 390];
const HEIGHT = 800;
// The pages, and whether each is shot at every width (the dashboard and the
// two pages the issue found broken) or at 1366 only.
const PAGES = [
  {name: 'dashboard', path: '/', all: true},
  {name: 'stores', path: '/stores'},
  {name: 'store', path: '/stores/default'},
  {name: 'catalyst', path: '/catalyst'},
  {name: 'shares', path: '/shares'},
  {name: 'libraries', path: '/libraries'},
  {name: 'replication', path: '/replication', all: true},
  {name: 'users', path: '/users'},
  {name: 'jobs', path: '/jobs', all: true},
  {name: 'tasks', path: '/tasks'},
  {name: 'events', path: '/events'},
  {name: 'settings', path: '/settings'},
];

let tmp;
let app;
let browser;
let page;
let problems = [];
let api;
let shots;

before(async () => {
  tmp = tempDir();
  const bin = buildAppliance(tmp);
  const data = path.join(tmp, 'data');
  app = new Appliance(bin, data);
  const file = path.join(tmp, 'payload');
  fs.writeFileSync(file, crypto.randomBytes(4 << 20));
  execFileSync(bin, ['put', '--data', data, '--store', 'default', 'backup-2026-01-01.tar', file], {stdio: 'inherit'});
  const baseURL = await app.start();
  ({context: browser, page, problems} = await openBrowser(tmp, baseURL, [400, 401, 403, 404, 409]));
  api = apiOf(page);
  shots = screenshots(tmp);
  await page.goto('/');
  await login(page);
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop(15000);
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

// settle waits until the page has loaded its data: no spinner left.
async function settle() {
  await page.locator('main .page').first().waitFor();
  await page.waitForFunction(() => document.querySelectorAll('main .loading').length === 0, null, {timeout: 15000});
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// outside lists the visible elements that stick out of their card (or of
// the KPI row): each element's box must lie within its card's. What a box
// that clips or scrolls (overflow not visible) holds is not measured: only
// that box, which itself must be within the card.
function outside() {
  const out = [];
  const visible = (el) => {
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return cs.visibility !== 'hidden' && cs.display !== 'none' && r.width > 0 && r.height > 0;
  };
  const describe = (el) => {
    const t = (el.innerText || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : ''}${t ? ` "${t}"` : ''}`;
  };
  for (const card of document.querySelectorAll('main .card, main .kpi-row')) {
    if (!visible(card)) continue;
    const walk = (el, box) => {
      for (const child of el.children) {
        if (!visible(child)) continue;
        const r = child.getBoundingClientRect();
        const tol = 0.5;
        if (r.left < box.left - tol || r.right > box.right + tol || r.top < box.top - tol || r.bottom > box.bottom + tol) {
          out.push(`${describe(child)} [${Math.round(r.left)}..${Math.round(r.right)}] outside ${describe(card).slice(0, 60)} [${Math.round(box.left)}..${Math.round(box.right)}]`);
          continue;
        }
        // What a box that clips or scrolls holds cannot stick out of it
        // (a wide table scrolls in its card on a phone).
        const cs = getComputedStyle(child);
        if (cs.overflowX === 'visible' && cs.overflowY === 'visible') walk(child, box);
      }
    };
    walk(card, card.getBoundingClientRect());
  }
  // The page itself never scrolls sideways.
  const main = document.querySelector('main');
  if (main && main.scrollWidth > main.clientWidth + 1) out.push(`main scrolls sideways: ${main.scrollWidth} > ${main.clientWidth}`);
  return out;
}

// navProblems lists the navigation entries and header parts a user cannot
// see whole, and entries without an icon.
function navProblems() {
  const out = [];
  const vw = document.documentElement.clientWidth;
  for (const a of document.querySelectorAll('nav.nav a')) {
    const r = a.getBoundingClientRect();
    const label = a.querySelector('span');
    const lr = label.getBoundingClientRect();
    if (r.left < 0 || r.right > vw || r.width === 0) out.push(`nav "${a.innerText.trim()}" [${Math.round(r.left)}..${Math.round(r.right)}] outside the window (0..${vw})`);
    if (lr.right > r.right + 0.5 || lr.left < r.left - 0.5 || label.scrollWidth > label.clientWidth + 1) out.push(`nav label "${label.innerText}" cut off`);
    if (!a.querySelector('svg path')?.getAttribute('d')) out.push(`nav "${a.innerText.trim()}" has no icon`);
  }
  for (const el of document.querySelectorAll('.topbar > *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.left < 0 || r.right > vw)) out.push(`header ${el.className} [${Math.round(r.left)}..${Math.round(r.right)}] outside the window (0..${vw})`);
  }
  return out;
}

test('every page at 1280, 1366, 1920 and 390 px: nothing outside its card, the nav reachable', {timeout: 300000}, async () => {
  const found = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({width, height: HEIGHT});
    for (const p of PAGES) {
      await page.goto(p.path);
      await settle();
      for (const o of await page.evaluate(outside)) found.push(`${p.name} @${width}: ${o}`);
      for (const o of await page.evaluate(navProblems)) found.push(`${p.name} @${width}: ${o}`);
      if (p.all || width === 1366) {
        await page.mouse.move(0, 0);
        await page.screenshot({path: path.join(shots, `layout-${p.name}-${width}.png`)});
      }
    }
  }
  assert.deepEqual(found, [], `elements outside their card:\n${found.join('\n')}`);
});

test('the stores page total agrees with the dashboard, and an empty store or share shows one ratio', {timeout: 60000}, async () => {
  await page.setViewportSize({width: 1366, height: HEIGHT});
  const {body: st} = await api('/status');
  await page.goto('/');
  await page.locator('[data-kpi=stored]').waitFor();
  const dashStored = await page.innerText('[data-kpi=stored]');
  await page.goto('/stores');
  await settle();
  const total = page.locator('[data-total-stored]');
  await total.waitFor();
  assert.equal(Number(await total.getAttribute('data-total-stored')), st.stored_bytes, 'the stores page total is the appliance stored bytes');
  assert.ok((await total.innerText()).includes(dashStored), `stores total "${await total.innerText()}" shows the dashboard's ${dashStored}`);

  // An empty store and an empty share both show "–" for their ratio.
  const {body: stores} = await api('/stores');
  const emptyStores = stores.filter((s) => s.items === 0).map((s) => s.name);
  assert.ok(emptyStores.length > 0, `an empty store exists: ${JSON.stringify(stores.map((s) => [s.name, s.items]))}`);
  for (const name of emptyStores) {
    const cell = page.locator(`tr[data-store="${name}"] [data-ratio]`);
    if (await cell.count() === 0) continue;
    assert.equal((await cell.innerText()).trim(), '–', `empty store ${name} ratio`);
  }
  await page.goto('/shares');
  await settle();
  const shareRatios = page.locator('tr[data-share] [data-ratio]');
  for (let i = 0; i < await shareRatios.count(); i++) {
    const cell = shareRatios.nth(i);
    if (await cell.getAttribute('data-ratio') === '0') assert.equal((await cell.innerText()).trim(), '–', 'an empty share shows – as its ratio');
  }
});

test('the dark theme follows the system preference', {timeout: 60000}, async () => {
  await page.setViewportSize({width: 1366, height: HEIGHT});
  await page.emulateMedia({colorScheme: 'dark'});
  for (const p of ['/', '/jobs', '/settings']) {
    await page.goto(p);
    await settle();
    const colours = await page.evaluate(() => {
      const lum = (c) => {
        const m = c.match(/\d+(\.\d+)?/g).map(Number);
        return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;
      };
      const bodyBg = getComputedStyle(document.body).backgroundColor;
      const card = document.querySelector('main .card, main .kpi-row');
      const cardBg = card ? getComputedStyle(card).backgroundColor : bodyBg;
      const text = getComputedStyle(document.body).color;
      // Every table, input and card background is dark, never the light theme's white.
      const light = [...document.querySelectorAll('main .card, main input, main select, main .table th, main .table td, .topbar')]
        .filter((el) => lum(getComputedStyle(el).backgroundColor) > 0.5 && getComputedStyle(el).backgroundColor !== 'rgba(0, 0, 0, 0)')
        .map((el) => el.tagName.toLowerCase() + '.' + el.className);
      return {body: lum(bodyBg), card: lum(cardBg), text: lum(text), light};
    });
    assert.ok(colours.body < 0.2 && colours.card < 0.25, `${p}: dark backgrounds: ${JSON.stringify(colours)}`);
    assert.ok(colours.text > 0.7, `${p}: light text: ${JSON.stringify(colours)}`);
    assert.deepEqual(colours.light, [], `${p}: light backgrounds left in the dark theme`);
    await page.mouse.move(0, 0);
    await page.screenshot({path: path.join(shots, `layout-dark-${p === '/' ? 'dashboard' : p.slice(1)}-1366.png`)});
  }
  await page.emulateMedia({colorScheme: 'light'});
  await page.goto('/');
  await settle();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(243, 245, 248)', 'the light theme is unchanged');
});

// apiGet calls the API from node with a bearer token (the appliance's
// certificate is self-signed).
function apiGet(url, token) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, {rejectUnauthorized: false, headers: {Authorization: `Bearer ${token}`}, timeout: 10000}, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

test('an API token is created in the UI, shown once, used, and revoked', {timeout: 60000}, async () => {
  await page.setViewportSize({width: 1366, height: HEIGHT});
  await page.goto('/settings');
  await settle();
  await page.click('[data-action=new-token]');
  const dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=name]').fill('monitoring');
  await dlg.locator('select[name=role]').selectOption('read-only');
  await dlg.locator('button[type=submit]').click();
  const secretBox = page.locator('[data-token-secret]');
  await secretBox.waitFor();
  const secret = await secretBox.inputValue();
  assert.match(secret, /^bst_[0-9a-f]{16}_/);
  await page.mouse.move(0, 0);
  await page.screenshot({path: path.join(shots, 'tokens-created.png')});
  await page.locator('dialog.dialog button.btn-primary', {hasText: 'Done'}).click();
  const row = page.locator('tr[data-token=monitoring]');
  await row.waitFor();
  assert.match(await row.innerText(), /read-only/);
  assert.ok(!(await page.innerText('main')).includes(secret), 'the secret is not on the page any more');

  assert.equal(await apiGet(`${app.url}/api/v1/status`, secret), 200, 'the token reads the API');
  assert.equal(await apiGet(`${app.url}/api/v1/users`, secret), 403, 'a read-only token is no admin');

  await row.locator('[data-action=revoke-token]').click();
  await page.locator('dialog.dialog button[type=submit]').click();
  await row.waitFor({state: 'detached'});
  assert.equal(await apiGet(`${app.url}/api/v1/status`, secret), 401, 'a revoked token is refused');
});

test('no script errors, console errors or server errors', () => {
  assert.deepEqual(problems, []);
});
