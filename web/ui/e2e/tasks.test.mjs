// Browser test of the Tasks page: a verify run is a task that can be
// opened while it runs, whose progress moves on the open page without a
// reload, that the filters find, and that is still listed after a restart.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {Appliance, apiOf, buildAppliance, login, openBrowser, screenshots, shooter, tempDir} from './harness.mjs';

let tmp;
let app;
let browser;
let page;
let problems = [];
let api;
let shot;

// post calls the API from inside the page with the console's own client
// (its session cookie and CSRF token), so two calls go out back to back.
const post = (...paths) => page.evaluate(async (ps) => {
  const {api: client} = await import('/api.js');
  for (const p of ps) await client.post(p);
}, paths);

// startPaused starts a verify and pauses it at once, so that it holds
// after its first container: a task in progress for as long as the test
// needs. On a machine so loaded that the verify ends before the pause
// arrives (409), it tries again. It returns the task's id.
async function startPaused() {
  for (let i = 0; i < 3; i++) {
    const paused = await page.evaluate(async () => {
      const {api: client} = await import('/api.js');
      await client.post('/verify');
      try {
        await client.post('/verify/pause');
        return true;
      } catch (err) {
        if (err.status === 409) return false;
        throw err;
      }
    });
    const {body} = await api('/tasks?kind=verify&limit=1');
    if (paused) return body.tasks[0].id;
  }
  throw new Error('verify ended three times before it could be paused');
}

before(async () => {
  tmp = tempDir();
  const bin = buildAppliance(tmp);
  const data = path.join(tmp, 'data');
  app = new Appliance(bin, data);
  await app.start(); // makes the data directory
  await app.stop();
  // 64 MiB of incompressible data: 16 containers for verify to read back.
  const file = path.join(tmp, 'payload');
  fs.writeFileSync(file, crypto.randomBytes(64 << 20));
  execFileSync(bin, ['put', '--data', data, '--store', 'default', 'big', file], {stdio: 'inherit'});
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

test('a running verify is a task to open, its progress live, its log shown', {timeout: 120000}, async () => {
  await page.goto('/tasks');
  await login(page);
  await page.locator('.empty', {hasText: 'No tasks yet'}).waitFor();

  const id = await startPaused();
  const row = page.locator(`[data-task="${id}"]`);
  await row.locator('[data-task-state=paused]').waitFor();
  assert.match(await row.innerText(), /Verify/);

  // The filters: no housekeeping task, one verify, one running.
  await page.selectOption('[data-filter=kind]', 'housekeeping');
  await page.locator('.empty', {hasText: 'No such tasks'}).waitFor();
  await page.selectOption('[data-filter=kind]', 'verify');
  await page.selectOption('[data-filter=state]', 'running');
  await row.waitFor();

  await page.selectOption('[data-filter=kind]', '');
  await page.selectOption('[data-filter=state]', '');
  await row.locator('[data-task-state=paused]').waitFor();
  await shot('tasks-list.png', 420);
  await row.locator(`[data-task-link="${id}"]`).click();
  await page.waitForURL(`**/tasks/${id}`);
  await page.locator('[data-task-state=paused]').waitFor();
  const first = await page.innerText('[data-task-percent]');
  // Paused after its first batch or so: how many containers it read
  // before the pause took hold depends on the machine's load.
  const paused = (await page.innerText('[data-task-text]')).match(/(\d+) of 16 containers/);
  assert.ok(paused && Number(paused[1]) >= 1 && Number(paused[1]) < 16, `paused part way: ${paused}`);
  assert.match(await page.innerText('[data-task-log]'), /verify paused/);
  assert.ok(await page.locator('[data-action=task-cancel]').isEnabled(), 'an admin may cancel the task');
  await shot('tasks.png', 640);

  // Resumed, the open page follows the run to its end without a reload.
  await post('/verify/resume');
  await page.locator('[data-task-state=done]').waitFor({timeout: 100000});
  assert.equal(await page.innerText('[data-task-percent]'), '100 %');
  assert.notEqual(first, '100 %');
  assert.match(await page.innerText('[data-task-log]'), /verify checked 16 containers/);
  assert.equal(await page.locator('[data-action=task-cancel]').count(), 0, 'a finished task offers no cancel');

  const {body} = await api(`/tasks/${id}`);
  assert.equal(body.state, 'done');
  assert.equal(body.kind, 'verify');
  assert.deepEqual(problems, []);
});

test('the task log survives a restart; the Jobs page links to it', {timeout: 120000}, async () => {
  const url = await app.restart(); // on a new web port
  await page.goto(`${url}/tasks`);
  await login(page);
  await page.locator('[data-task] [data-task-state=done]').first().waitFor();
  await page.goto(`${url}/jobs`);
  await page.click('[data-action=all-tasks]');
  await page.waitForURL('**/tasks');
  await page.locator('[data-nav=tasks][aria-current=page]').first().waitFor();
  assert.deepEqual(problems, []);
});
