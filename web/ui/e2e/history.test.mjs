// Browser test of the dashboard's history: samples land on disk, survive
// a restart of the appliance, and chart by day, week, month and year with
// the date the appliance is projected to be full.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {Appliance, apiOf, buildAppliance, login, openBrowser, screenshots, shooter, tempDir} from './harness.mjs';

let tmp;
let bin;
let data;
let app;
let browser;
let page;
let problems = [];
let api;
let shot;

// put writes size bytes of fresh random data as item name, and as many
// more copies of it, which dedup (serve stopped: the CLI opens the data
// directory itself).
function put(name, size, copies = 0) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, crypto.randomBytes(size));
  for (let i = 0; i <= copies; i++) {
    execFileSync(bin, ['put', '--data', data, '--store', 'default', i ? `${name}-copy-${i}` : name, file], {stdio: 'inherit'});
  }
}

// samples waits until the history of range has at least n samples.
async function samples(range, n) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const {status, body} = await api(`/status/history?range=${range}`);
    assert.equal(status, 200);
    if (body.samples.length >= n) return body;
    assert.ok(Date.now() < deadline, `${body.samples.length} samples after 30 s, want ${n}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// chartPoints waits for the dashboard's history at range and returns how
// many points its stored-and-logical chart has.
async function chartPoints(range, atLeast) {
  await page.locator(`[data-history=${range}] .card-history-size .chart-svg`).waitFor();
  const deadline = Date.now() + 30000;
  for (;;) {
    const n = Number(await page.getAttribute(`[data-history=${range}] .card-history-size .chart`, 'data-points'));
    if (n >= atLeast) return n;
    assert.ok(Date.now() < deadline, `the ${range} chart has ${n} points, want ${atLeast}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  tmp = tempDir();
  bin = buildAppliance(tmp);
  data = path.join(tmp, 'data');
  put('first', 8 << 20);
  app = new Appliance(bin, data, {BACKSTOP_HISTORY_INTERVAL: '1s'});
  const baseURL = await app.start();
  ({context: browser, page, problems} = await openBrowser(tmp, baseURL));
  api = apiOf(page);
  shot = shooter(page, screenshots(tmp));
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop(15000);
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

test('the history survives a restart and charts every range', {timeout: 180000}, async () => {
  await page.goto('/');
  await login(page);
  const first = await samples('day', 3);
  assert.equal(first.scope, 'appliance');
  assert.ok(first.samples.every((x) => x.stored_bytes > 0 && x.logical_bytes >= 8 << 20 && x.capacity_bytes > 0 && x.dedup_ratio > 0),
    JSON.stringify(first.samples[0]));
  await chartPoints('day', 3);

  // Stop, write as much again and two copies of it, start: the samples from before are still
  // there, the new ones come after them, and stored bytes grew.
  const web = new URL(app.url).host; // the browser's base URL: the same port again
  await app.stop();
  put('second', 8 << 20, 2);
  assert.notEqual(app.proc.exitCode, null, `serve did not stop:\n${app.log}`);
  await app.start(['--web', web]);
  // The session outlives the restart (sessions are kept in the data directory)
  // or the page asks to log in again.
  await page.goto('/');
  await page.locator('#login-user, .whoami-name').first().waitFor();
  if (await page.locator('#login-user').isVisible()) await login(page);
  const before = first.samples;
  const now = await samples('day', before.length + 3);
  for (const [i, x] of before.entries()) {
    assert.equal(now.samples[i].time, x.time, `sample ${i} kept`);
    assert.equal(now.samples[i].stored_bytes, x.stored_bytes);
  }
  const last = now.samples[now.samples.length - 1];
  assert.ok(last.logical_bytes >= 32 << 20 && last.dedup_ratio > 1.5 && last.stored_bytes > before[before.length - 1].stored_bytes, 'stored bytes grew');
  assert.ok(now.projection && Date.parse(now.projection.full_at) > Date.now(), `projection ${JSON.stringify(now.projection)}`);
  const points = await chartPoints('day', before.length + 3);
  assert.ok(points >= before.length + 3);
  assert.match(await page.innerText('.projection'), /^Full (in ~[\d,]+ days?, about \d{4}-\d\d-\d\d|within a day)/);
  // The page's projection moves with each sample: a date to come.
  assert.ok(Date.parse(await page.getAttribute('.projection', 'data-projection')) > Date.now());
  await shot('history.png', 1250);

  // Each range: the tab is selected, the chart shows the points the API has.
  for (const range of ['week', 'month', 'year', 'day']) {
    await page.click(`.tabs button[data-range=${range}]`);
    const n = await chartPoints(range, 2);
    assert.equal(await page.getAttribute(`.tabs button[data-range=${range}]`, 'aria-selected'), 'true');
    const {body} = await api(`/status/history?range=${range}`);
    assert.equal(body.range, range);
    assert.ok(Math.abs(body.samples.length - n) <= 2, `${range}: chart ${n} points, API ${body.samples.length}`);
  }
  assert.deepEqual(problems, []);
});
