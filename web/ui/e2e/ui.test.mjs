// Browser tests for the Backstop web UI: Debian's chromium driven by
// playwright-core against the real appliance binary built from this repo.
//
// Run with ./run.sh (installs what is missing) or `node --test *.test.mjs`.
// Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1, else into
// the test's temporary directory, so a plain run leaves the repository as it was.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {ADMIN_PASSWORD, Appliance, apiOf, buildAppliance, openBrowser, screenshots, shooter, tempDir} from './harness.mjs';

let tmp;
let app; // the appliance under test
let dataDir; // its data directory
let browser; // a persistent context on a fresh profile
let page;
let problems = [];
let api;
let shot;

// damageShare adds to the data directory the share "broken" beside the
// default share "backup", lets a first serve make both, and then damages
// broken's metadata: the appliance must start anyway and show it degraded.
async function damageShare(data) {
  const created = new Date().toISOString();
  const share = (name, comment) => ({name, comment, domain: 'default', store: `nas.${name}`, quota_bytes: 0,
    encrypt_data: false, sign_required: false, default_access: 'read-write', users: {}, created});
  fs.mkdirSync(path.join(data, 'nas'), {recursive: true});
  fs.writeFileSync(path.join(data, 'nas', 'shares.json'),
    JSON.stringify({version: 1, shares: [share('backup', 'Backup share'), share('broken', '')]}));
  await app.start();
  await app.stop();
  assert.notEqual(app.proc.exitCode, null, `the first serve did not stop:\n${app.log}`);
  const manifest = path.join(data, 'nas', 'shares', 'broken', 'meta', 'MANIFEST');
  assert.ok(fs.existsSync(manifest), 'the first serve made the share broken');
  fs.writeFileSync(manifest, 'not a badger manifest');
}

before(async () => {
  tmp = tempDir();
  const bin = buildAppliance(tmp);
  const data = path.join(tmp, 'data');
  dataDir = data;
  app = new Appliance(bin, data, {BACKSTOP_HISTORY_INTERVAL: '10s'}); // the charts need two samples
  const file = path.join(tmp, 'payload');
  // 24 MiB of incompressible data, written twice: the second copy dedups fully.
  fs.writeFileSync(file, crypto.randomBytes(24 << 20));
  for (const name of ['gen-1', 'gen-2']) {
    execFileSync(bin, ['put', '--data', data, '--store', 'default', name, file], {stdio: 'inherit'});
  }
  // 8 MiB that no other item shares: deleting it leaves space to reclaim.
  const scratch = path.join(tmp, 'scratch');
  fs.writeFileSync(scratch, crypto.randomBytes(8 << 20));
  execFileSync(bin, ['put', '--data', data, '--store', 'default', 'scratch', scratch], {stdio: 'inherit'});
  await damageShare(data);
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

test('a wrong password shows the API message, the right one logs in', {timeout: 60000}, async () => {
  await page.goto('/');
  await page.waitForURL('**/login');
  await page.fill('#login-user', 'admin');
  await page.fill('#login-pass', 'not-the-password');
  await page.click('.login-form button[type=submit]');
  const err = page.locator('.login-form .form-error');
  await err.waitFor({state: 'visible'});
  assert.match(await err.innerText(), /\S/, 'an error message is shown');
  assert.doesNotMatch(await err.innerText(), /[{}]/, 'no raw JSON');

  await page.fill('#login-user', 'admin');
  await page.fill('#login-pass', ADMIN_PASSWORD);
  await page.click('.login-form button[type=submit]');
  await page.locator('.whoami-name', {hasText: 'admin'}).waitFor();
  assert.equal(new URL(page.url()).pathname, '/');
});

test('a share that cannot open is degraded on the dashboard and the shares page', {timeout: 60000}, async () => {
  const {body: st} = await api('/status');
  assert.equal(st.health.state, 'degraded');
  const part = st.health.components.find((c) => c.name === 'share:broken');
  assert.ok(part && part.state === 'degraded' && /broken/.test(part.reason), `share:broken part: ${JSON.stringify(st.health)}`);

  await page.goto('/');
  const item = page.locator('.card-health [data-part="share:broken"]');
  await item.waitFor();
  assert.equal(await page.getAttribute('.card-health [data-health]', 'data-health'), 'degraded');
  assert.match(await item.innerText(), /Share broken/);
  assert.match(await item.innerText(), /Degraded/);
  assert.equal(await page.locator('.card-health [data-part="share:backup"]').count(), 0);
  await shot('dashboard-degraded.png');

  await page.click('nav a[data-nav=shares]');
  await page.locator('tr[data-share=broken] [data-degraded]').waitFor();
  assert.match(await page.innerText('tr[data-share=broken]'), /Not served: /);
  assert.equal(await page.locator('tr[data-share=backup] [data-degraded]').count(), 0);

  // Deleting it clears its part: the dashboard is healthy again.
  await page.locator('tr[data-share=broken] [data-action=delete-share]').click();
  await page.locator('dialog.dialog button[type=submit]').click();
  await page.locator('tr[data-share=broken]').waitFor({state: 'detached'});
  assert.equal((await api('/status')).body.health.state, 'ok');
  await page.click('nav a[data-nav=dashboard]');
  await page.locator('.card-health [data-health=ok]').waitFor();
  assert.match(await page.innerText('.card-health'), /Every part is working/);
  // The header's badge says the same at once, not at its next refresh.
  assert.equal(await page.getAttribute('[data-header-health]', 'data-header-health'), 'ok');
});

test('the dashboard shows the real figures', {timeout: 90000}, async () => {
  await page.locator('[data-kpi=logical]').waitFor();
  const {status, body: st} = await api('/status');
  assert.equal(status, 200);
  assert.ok(st.logical_bytes > 0, 'data was written');
  assert.ok(st.dedup_ratio > 1, `dedup ratio ${st.dedup_ratio} > 1`);
  assert.equal(Number(await page.getAttribute('[data-kpi=logical]', 'data-value')), st.logical_bytes);
  assert.equal(Number(await page.getAttribute('[data-kpi=stored]', 'data-value')), st.stored_bytes);
  assert.equal(Number(await page.getAttribute('[data-kpi=dedup]', 'data-value')), st.dedup_ratio);
  assert.equal(Number(await page.getAttribute('[data-kpi=items]', 'data-value')), st.items);
  // What a person reads: sizes in binary units and the ratio.
  assert.match(await page.innerText('[data-kpi=logical]'), /^\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)$/);
  assert.match(await page.innerText('[data-kpi=dedup] .kpi-value'), new RegExp(`^${st.dedup_ratio.toFixed(2)} : 1$`));
  // The throughput charts appear once the sampler has two samples (10 s apart).
  await page.locator('.chart-svg').first().waitFor({timeout: 45000});
  await page.locator('.event-list li').first().waitFor();
  const text = await page.innerText('main');
  assert.doesNotMatch(text, /[{[]"/, 'no raw JSON on the page');
  await shot('dashboard.png');
});

test('create a store, refuse to delete a non-empty one, delete the empty one', {timeout: 60000}, async () => {
  await page.click('nav a[data-nav=stores]');
  await page.locator('tr[data-store=default]').waitFor();
  assert.match(await page.innerText('tr[data-store=default]'), /\b3\b/, 'default holds three items');

  await page.click('[data-action=create-store]');
  const dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=name]').fill('e2e-store');
  await dlg.locator('input[name=domain]').fill('default');
  await dlg.locator('button[type=submit]').click();
  await Promise.race([
    dlg.waitFor({state: 'detached'}),
    dlg.locator('.form-error').waitFor({state: 'visible'}).then(async () => {
      throw new Error(`create store refused: ${await dlg.locator('.form-error').innerText()}`);
    }),
  ]);
  const row = page.locator('tr[data-store=e2e-store]');
  await row.waitFor();
  const {body: created} = await api('/stores/e2e-store');
  assert.equal(created.domain, 'default');
  assert.equal(created.items, 0);
  await shot('stores.png');

  // A store with items: the confirmation warns, the API refuses, its message shows.
  await page.locator('tr[data-store=default] [data-action=delete-store]').click();
  await page.locator('dialog.dialog button[type=submit]').click();
  const banner = page.locator('.banner-error');
  await banner.waitFor();
  assert.match(await banner.innerText(), /^Cannot delete default: \S/);
  assert.equal((await api('/stores/default')).status, 200);

  await row.locator('[data-action=delete-store]').click();
  const confirm = page.locator('dialog.dialog');
  assert.match(await confirm.innerText(), /cannot be undone/);
  await confirm.locator('button[type=submit]').click();
  await row.waitFor({state: 'detached'});
  assert.equal((await api('/stores/e2e-store')).status, 404);
});

test('the store page lists the items', {timeout: 30000}, async () => {
  await page.click('a[href="/stores/default"]');
  await page.locator('table.table tbody tr').first().waitFor();
  const names = await page.locator('table.table tbody tr td.name').allInnerTexts();
  assert.deepEqual(names, ['gen-1', 'gen-2', 'scratch']);
  await shot('store.png');
});

test('the Catalyst page shows the traffic and sets a store\'s client permissions', {timeout: 60000}, async () => {
  await page.click('nav a[data-nav=catalyst]');
  const row = page.locator('tr[data-store=default]');
  await row.waitFor();
  assert.match(await row.innerText(), /low bandwidth/);
  assert.match(await row.innerText(), /every user/);
  await page.locator('[data-kpi=catalyst-puts]').waitFor();
  await row.locator('[data-action=store-options]').click();
  const dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=clients]').fill('admin, backup-server');
  await dlg.locator('button[type=submit]').click();
  await page.locator('tr[data-store=default]', {hasText: 'admin, backup-server'}).waitFor();
  const st = await api('/stores/default');
  assert.equal(st.status, 200);
  assert.deepEqual(st.body.clients, ['admin', 'backup-server']);
  assert.equal(st.body.transfer, 'low');
  await shot('catalyst.png');
  await page.click('nav a[data-nav=dashboard]');
  await page.locator('[data-catalyst]').waitFor();
  assert.match(await page.innerText('[data-catalyst]'), /Received on the wire/);
});

test('create an SMB share and see it listed beside the default one', {timeout: 60000}, async () => {
  await page.click('nav a[data-nav=shares]');
  await page.locator('tr[data-share=backup]').waitFor();

  await page.click('[data-action=create-share]');
  const dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=name]').fill('e2e-share');
  await dlg.locator('input[name=comment]').fill('Nightly backups');
  await dlg.locator('select[name=default_access]').selectOption('read-only');
  await dlg.locator('input[name=rw]').fill('admin');
  await dlg.locator('input[name=quota]').fill('2G');
  await dlg.locator('input[name=sign_required]').check();
  await dlg.locator('button[type=submit]').click();
  await Promise.race([
    dlg.waitFor({state: 'detached'}),
    dlg.locator('.form-error').waitFor({state: 'visible'}).then(async () => {
      throw new Error(`create share refused: ${await dlg.locator('.form-error').innerText()}`);
    }),
  ]);
  const row = page.locator('tr[data-share=e2e-share]');
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /Nightly backups/);
  assert.match(text, /Read only · 1 named user/);
  assert.match(text, /2(\.0+)? GiB/);
  assert.match(text, /Signed/);
  const {status, body: created} = await api('/shares/e2e-share');
  assert.equal(status, 200);
  assert.equal(created.quota_bytes, 2 * 2 ** 30);
  assert.equal(created.default_access, 'read-only');
  assert.deepEqual(created.users, {admin: 'read-write'});
  assert.equal(created.sign_required, true);
  assert.equal(created.domain, 'default');
  assert.doesNotMatch(await page.innerText('main'), /[{[]"/, 'no raw JSON on the page');
  await shot('shares.png');

  // Edit: drop the quota.
  await row.locator('[data-action=edit-share]').click();
  const edit = page.locator('dialog.dialog');
  assert.equal(await edit.locator('input[name=quota]').inputValue(), '2GiB');
  await edit.locator('input[name=quota]').fill('');
  await edit.locator('button[type=submit]').click();
  await edit.waitFor({state: 'detached'});
  await page.waitForFunction(() => /None/.test(document.querySelector('tr[data-share=e2e-share]')?.innerText || ''));
  assert.equal((await api('/shares/e2e-share')).body.quota_bytes, 0);

  await row.locator('[data-action=delete-share]').click();
  const confirm = page.locator('dialog.dialog');
  assert.match(await confirm.innerText(), /cannot be undone/);
  await confirm.locator('button[type=submit]').click();
  await row.waitFor({state: 'detached'});
  assert.equal((await api('/shares/e2e-share')).status, 404);
});

test('tape libraries: the default one, a new library and its cartridges', {timeout: 60000}, async () => {
  await page.click('nav a[data-nav=libraries]');
  await page.locator('tr[data-library=vtl1]').waitFor();
  assert.match(await page.innerText('tr[data-library=vtl1]'), /hp-msl/);

  await page.click('[data-action=create-library]');
  const dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=name]').fill('e2e-lib');
  await dlg.locator('input[name=drives]').fill('1');
  await dlg.locator('input[name=slots]').fill('6');
  await dlg.locator('input[name=size]').fill('1');
  await dlg.locator('button[type=submit]').click();
  await Promise.race([
    dlg.waitFor({state: 'detached'}),
    dlg.locator('.form-error').waitFor({state: 'visible'}).then(async () => {
      throw new Error(`create library refused: ${await dlg.locator('.form-error').innerText()}`);
    }),
  ]);
  await page.locator('tr[data-library=e2e-lib]').waitFor();
  await page.click('a[href="/libraries/e2e-lib"]');
  await page.locator('[data-action=add-cartridges]').click();
  const add = page.locator('dialog.dialog');
  await add.locator('input[name=prefix]').fill('E2E');
  await add.locator('input[name=count]').fill('2');
  await add.locator('button[type=submit]').click();
  await page.locator('tr[data-cartridge=E2E001L6]').waitFor();
  assert.match(await page.innerText('tr[data-cartridge=E2E002L6]'), /Slot 2/);
  const {body: lib} = await api('/libraries/e2e-lib');
  assert.equal(lib.cartridges, 2);
  assert.equal(lib.cartridge_size, 1024 ** 3);
  await shot('library.png');
});

test('verify runs to the end and finds no damage', {timeout: 120000}, async () => {
  await page.click('nav a[data-nav=jobs]');
  const start = page.locator('[data-action=verify-start]');
  await start.waitFor();
  await start.click();
  await page.locator('[data-verify-state=done]').waitFor({timeout: 100000});
  assert.match(await page.innerText('[data-verify-result]'), /No damage found/);
  const {body: v} = await api('/verify');
  assert.equal(v.state, 'done');
  assert.equal((v.damage || []).length, 0);
});

test('delete an item, then housekeeping gives its space back', {timeout: 150000}, async () => {
  await page.click('nav a[data-nav=stores]');
  await page.click('a[href="/stores/default"]');
  const row = page.locator('tr[data-item=scratch]');
  await row.waitFor();
  const freed = Number(await row.locator('[data-freed]').getAttribute('data-freed'));
  assert.ok(freed >= 7 << 20, `scratch alone holds ${freed} bytes`);
  assert.match(await row.locator('[data-freed]').innerText(), /^\d+(\.\d+)? MiB$/);
  // gen-1 and gen-2 share every chunk: deleting either frees nothing.
  assert.equal(Number(await page.getAttribute('tr[data-item=gen-1] [data-freed]', 'data-freed')), 0);

  await row.locator('[data-action=delete-item]').click();
  const dlg = page.locator('dialog.dialog');
  assert.match(await dlg.innerText(), /gives back \d/);
  await dlg.locator('button[type=submit]').click();
  await row.waitFor({state: 'detached'});
  const before = (await api('/status')).body.stored_bytes;

  await page.click('nav a[data-nav=jobs]');
  await page.locator('[data-action=hk-plan]').click();
  await page.locator('[data-hk-plan] .hk-plan-text').waitFor();
  assert.match(await page.innerText('[data-hk-plan]'), /would free \d/);
  const {body: plan} = await api('/housekeeping/plan');
  assert.ok(plan.reclaim_bytes >= freed * 0.9, `plan ${plan.reclaim_bytes} of ${freed}`);

  await page.locator('[data-action=hk-start]').click();
  await page.locator('[data-hk-state=done]').waitFor({timeout: 120000});
  const {body: hk} = await api('/housekeeping');
  assert.equal(hk.state, 'done');
  assert.ok(hk.report.reclaimed_bytes > 0, 'reclaimed bytes > 0');
  assert.ok(hk.report.reclaimed_bytes >= freed * 0.9, `reclaimed ${hk.report.reclaimed_bytes} of ${freed}`);
  const result = await page.innerText('[data-hk-result]');
  assert.match(result, /\d+(\.\d+)? MiB reclaimed/);
  assert.match(result, /dropped/);
  assert.ok((await api('/status')).body.stored_bytes < before, 'stored bytes fell');
  // The survivors still read back in full: verify finds no damage after housekeeping.
  const prev = (await api('/verify')).body.finished;
  await page.locator('[data-action=verify-start]').click();
  for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
    const {body: v} = await api('/verify');
    if (v.state === 'done' && v.finished !== prev) break;
    assert.ok(!['failed', 'cancelled'].includes(v.state) && Date.now() - t < 100000, `verify after housekeeping: ${v.state}`);
  }
  await page.locator('[data-verify-state=done]').waitFor();
  assert.match(await page.innerText('[data-verify-result]'), /No damage found/);
  // Nothing is left to reclaim now.
  await page.locator('[data-action=hk-plan]').click();
  await page.locator('[data-hk-plan] .hk-plan-text', {hasText: 'would free nothing'}).waitFor();
  assert.doesNotMatch(await page.innerText('main'), /[{[]"/, 'no raw JSON on the page');
  await shot('jobs.png', 860);
});

test('the dashboard shows reclaimable space; automatic housekeeping is a setting', {timeout: 60000}, async () => {
  await page.click('nav a[data-nav=dashboard]');
  const reclaimable = page.locator('[data-kpi=reclaimable]');
  await reclaimable.waitFor();
  assert.equal(Number(await reclaimable.getAttribute('data-value')), 0, 'the last dry run found nothing left');

  await page.click('nav a[data-nav=settings]');
  await page.locator('#hk-interval').waitFor();
  assert.equal(await page.isChecked('#hk-auto'), true, 'on by default');
  assert.equal(await page.inputValue('#hk-interval'), '60');
  await page.uncheck('#hk-auto');
  await page.fill('#hk-interval', '30');
  await shot('settings.png');
  await page.click('[data-action=save-housekeeping]');
  for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    const {body: s} = await api('/settings');
    if (!s.housekeeping.auto) {
      assert.equal(s.housekeeping.interval_minutes, 30);
      break;
    }
    assert.ok(Date.now() - t < 10000, 'the setting was saved');
  }
  await page.click('nav a[data-nav=jobs]');
  await page.locator('.hk-auto', {hasText: 'Automatic housekeeping is off'}).waitFor();
});

test('settings: an alert target is added, tested and gets the events its rule names', {timeout: 60000}, async () => {
  // A webhook receiver on loopback, as an admin's would be.
  const got = [];
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { got.push(JSON.parse(body)); res.end('ok'); });
  });
  await new Promise((r) => hook.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${hook.address().port}/hook`;
    await page.click('nav a[data-nav=settings]');
    await page.locator('[data-action=add-alert]').click();
    const dlg = page.locator('dialog.dialog');
    await dlg.locator('input[name=name]').fill('ops-hook');
    await dlg.locator('select[name=min_level]').selectOption('info');
    await dlg.locator('input[name=actions]').fill('alerts.*, alert.test');
    await dlg.locator('input[name=url]').fill(url);
    await dlg.locator('button[type=submit]').click();
    await dlg.waitFor({state: 'detached'});
    const row = page.locator('[data-alert=ops-hook]');
    await row.waitFor();
    assert.match(await row.innerText(), /webhook/);
    await row.locator('[data-action=test-alert]').click();
    await page.locator('.toasts', {hasText: 'Test message sent to ops-hook'}).waitFor();
    for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
      const actions = got.map((m) => m.event.action);
      // Saving the target is an audit event its rule names; the test message is the other.
      if (actions.includes('alerts.update') && actions.includes('alert.test')) break;
      assert.ok(Date.now() - t < 15000, `the receiver got ${JSON.stringify(actions)}`);
    }
    assert.ok(got.every((m) => m.appliance && m.event.time), 'every message names the appliance and the time');
    await page.locator('[data-alert=ops-hook]').scrollIntoViewIfNeeded();
    await shot('settings-alerts.png', 1100);
  } finally {
    hook.close();
  }
});

test('replication: pair, map, replicate, promote; the dashboard tile', {timeout: 90000}, async () => {
  await page.click('nav a[data-nav=replication]');
  const fpEl = page.locator('[data-fingerprint]');
  await fpEl.waitFor();
  const fp = await fpEl.getAttribute('data-fingerprint');
  assert.match(fp, /^[0-9a-f]{64}$/);
  // The appliance replicates into itself: it trusts its own certificate.
  await page.getByRole('button', {name: 'Trust a source'}).first().click();
  let dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=name]').fill('self');
  await dlg.locator('input[name=fingerprint]').fill(fp);
  await dlg.locator('button[type=submit]').click();
  await dlg.waitFor({state: 'detached'});
  await page.click('[data-action=create-mapping]');
  dlg = page.locator('dialog.dialog');
  await dlg.locator('input[name=name]').fill('e2e');
  await dlg.locator('select[name=source_store]').selectOption('default');
  await dlg.locator('input[name=target]').fill(app.replAddr);
  await dlg.locator('input[name=target_fingerprint]').fill(fp);
  await dlg.locator('input[name=target_store]').fill('e2e-copy');
  await dlg.locator('button[type=submit]').click();
  await dlg.waitFor({state: 'detached'});
  const {body: src} = await api('/stores/default');
  for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 200))) {
    const {body: m} = await api('/replication/mappings/e2e');
    if (m.items_replicated === src.items && m.items_pending === 0 && m.state === 'idle') {
      assert.equal(m.logical_bytes, src.logical_bytes);
      break;
    }
    assert.ok(Date.now() - t < 60000, `the mapping catches up: ${JSON.stringify(m)}`);
  }
  const row = page.locator('tr[data-mapping=e2e]');
  await row.locator('[data-pending="0"]').waitFor();
  assert.match(await row.innerText(), /caught up/);
  const rep = page.locator('tr[data-replica=e2e-copy]');
  await rep.waitFor();
  assert.match(await rep.innerText(), /read-only/i);
  const {body: copy} = await api('/stores/e2e-copy');
  assert.equal(copy.items, src.items);
  assert.equal(copy.logical_bytes, src.logical_bytes);
  assert.doesNotMatch(await page.innerText('main'), /[{[]"/, 'no raw JSON on the page');
  await shot('replication.png', 860);
  // Failover: promote the copy.
  await rep.locator('[data-action=promote]').click();
  await page.locator('dialog.dialog button[type=submit]').click();
  await rep.locator('text=promoted').waitFor();
  // The dashboard tile.
  await page.click('nav a[data-nav=dashboard]');
  const tile = page.locator('[data-kpi=repl-mappings]');
  await tile.waitFor();
  assert.equal(Number(await tile.getAttribute('data-value')), 1);
  await page.locator('li[data-mapping=e2e]').waitFor();
});

test('log out ends the session', {timeout: 30000}, async () => {
  await page.click('[data-action=logout]');
  await page.locator('#login-user').waitFor();
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal((await api('/sessions/current')).status, 401);
});

test('a read-only user sees his stores\' figures and none of the pool\'s', {timeout: 60000}, async () => {
  // Made with the admin's bearer token from inside the page (the session
  // above has ended).
  const made = await page.evaluate(async (pw) => {
    // credentials 'omit': the login's cookie must not log the browser in.
    const post = (url, body, token) => fetch(url, {method: 'POST', body: JSON.stringify(body), credentials: 'omit',
      headers: {'Content-Type': 'application/json', ...(token ? {Authorization: `Bearer ${token}`} : {})}});
    const login = await (await post('/api/v1/sessions', {username: 'admin', password: pw})).json();
    return (await post('/api/v1/users', {name: 'viewer', role: 'read-only', password: 'e2e-viewer-password-1'}, login.token)).status;
  }, ADMIN_PASSWORD);
  assert.equal(made, 201);
  await page.goto('/');
  await page.locator('#login-user').waitFor();
  await page.fill('#login-user', 'viewer');
  await page.fill('#login-pass', 'e2e-viewer-password-1');
  await page.click('.login-form button[type=submit]');
  await page.locator('[data-kpi=logical]').waitFor();
  const {status, body: st} = await api('/status');
  assert.equal(status, 200);
  assert.equal(st.scope, 'stores');
  assert.equal(st.capacity_bytes, undefined);
  assert.equal(st.new_chunks, undefined);
  assert.equal(Number(await page.getAttribute('[data-kpi=logical]', 'data-value')), st.logical_bytes);
  assert.equal(Number(await page.getAttribute('[data-kpi=items]', 'data-value')), st.items);
  await page.locator('[data-scope=stores]').waitFor();
  assert.equal(await page.locator('[data-kpi=containers]').count(), 0);
  assert.equal(await page.locator('.chart-svg').count(), 0);
  const text = await page.innerText('main');
  assert.doesNotMatch(text, /undefined|NaN/, 'no missing figure shown as undefined or NaN');
  // The Jobs page: the state of the runs, no pool figures, no dry run.
  await page.goto('/jobs');
  await page.locator('[data-action=hk-plan]').waitFor();
  assert.equal(await page.locator('[data-action=hk-plan]').isDisabled(), true, 'the dry run is an admin\'s');
  assert.doesNotMatch(await page.innerText('main'), /undefined|NaN/, 'the Jobs page shows no missing figure');
  await page.click('[data-action=logout]');
  await page.locator('#login-user').waitFor();
});

// flipInVolumes overwrites, in the volume file that holds it, 64 bytes
// equal to probe (random data is stored as it is): the damage a failing
// disk does.
function flipInVolumes(probe) {
  const dir = path.join(dataDir, 'volumes');
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.vol'))) {
    const file = path.join(dir, name);
    const at = fs.readFileSync(file).indexOf(probe);
    if (at >= 0) {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.alloc(probe.length, 0x5a), 0, probe.length, at);
      fs.closeSync(fd);
      return;
    }
  }
  throw new Error('the probe bytes are in no volume file');
}

// restartServer stops serve and starts it again on the same data.
function restartServer() {
  return app.restart();
}

test('damage found by verify survives a restart, named by share path', {timeout: 180000}, async () => {
  await page.goto('/');
  await page.locator('#login-user').waitFor();
  await page.fill('#login-user', 'admin');
  await page.fill('#login-pass', ADMIN_PASSWORD);
  await page.click('.login-form button[type=submit]');
  await page.locator('.whoami-name', {hasText: 'admin'}).waitFor();

  // A file written over SMB into the share backup, then damaged on disk.
  const smb = app.log.match(/SMB shares: (\S+)/);
  assert.ok(smb, `no SMB address in:\n${app.log}`);
  const [host, port] = [smb[1].slice(0, smb[1].lastIndexOf(':')), smb[1].slice(smb[1].lastIndexOf(':') + 1)];
  const payload = crypto.randomBytes(2 << 20);
  const local = path.join(tmp, 'q3-report.bin');
  fs.writeFileSync(local, payload);
  execFileSync('smbclient', [`//${host}/backup`, '-p', port, '-U', `admin%${ADMIN_PASSWORD}`, '-m', 'SMB3',
    '-c', `mkdir reports; put ${local} reports/q3-report.bin`], {stdio: 'pipe'});
  flipInVolumes(payload.subarray(1 << 20, (1 << 20) + 64));

  const prev = (await api('/verify')).body.finished;
  await page.click('nav a[data-nav=jobs]');
  await page.locator('[data-action=verify-start]').click();
  for (const t = Date.now(); ;) {
    const {body: v} = await api('/verify');
    if (v.state === 'done' && v.finished !== prev) break;
    assert.ok(!['failed', 'cancelled'].includes(v.state) && Date.now() - t < 100000, `verify: ${v.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const {body: v} = await api('/verify');
  assert.ok(v.damage.length > 0, 'verify found the damage');
  assert.ok(v.damage.some((d) => d.names.includes('share backup: /reports/q3-report.bin')),
    `damage named by share path: ${JSON.stringify(v.damage)}`);

  // The restart: the appliance still knows, and says it by share path.
  const url = await restartServer();
  await page.goto(`${url}/`);
  await Promise.race([page.locator('#login-user').waitFor(), page.locator('.whoami-name').waitFor()]);
  if (await page.locator('#login-user').count() > 0) {
    await page.fill('#login-user', 'admin');
    await page.fill('#login-pass', ADMIN_PASSWORD);
    await page.click('.login-form button[type=submit]');
  }
  const item = page.locator('.card-health [data-damaged="share backup: /reports/q3-report.bin"]');
  await item.waitFor();
  assert.match(await item.innerText(), /Share backup\s+\/reports\/q3-report\.bin/);
  assert.equal(await page.getAttribute('.card-health [data-health]', 'data-health'), 'degraded');
  await page.locator('[data-header-health=degraded]').waitFor();
  const {body: health} = await api('/health');
  const verify = health.components.find((c) => c.name === 'verify');
  assert.ok(verify && verify.state === 'degraded', `verify part after restart: ${JSON.stringify(health)}`);
  assert.ok(health.damage.some((d) => d.share === 'backup' && d.path === '/reports/q3-report.bin'),
    `damage after restart: ${JSON.stringify(health.damage)}`);
  await shot('health-damage.png');

  // The header badge is on every page; the Jobs page recalls the damage.
  await page.click('nav a[data-nav=jobs]');
  await page.locator('[data-header-health=degraded]').waitFor();
  assert.match(await page.locator('[data-earlier-damage]').innerText(), /share backup: \/reports\/q3-report\.bin/);
});

test('no script errors on any page', () => {
  assert.deepEqual(problems, []);
});
