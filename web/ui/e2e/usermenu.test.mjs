// Browser test of the header's "API tokens" entry: it opens Settings at
// the API tokens card, from any page, at a desktop and a phone width.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {Appliance, buildAppliance, login, openBrowser, tempDir} from './harness.mjs';

let tmp;
let app;
let browser;
let page;
let problems = [];

before(async () => {
  tmp = tempDir();
  const bin = buildAppliance(tmp);
  app = new Appliance(bin, path.join(tmp, 'data'));
  const baseURL = await app.start();
  ({context: browser, page, problems} = await openBrowser(tmp, baseURL));
  await page.goto('/');
  await login(page);
});

after(async () => {
  if (browser) await browser.close();
  if (app) await app.stop(15000);
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
});

test('the header links to the API tokens from every page', {timeout: 120000}, async () => {
  for (const [width, from] of [[1366, '/stores'], [1366, '/settings'], [390, '/jobs']]) {
    await page.setViewportSize({width, height: 800});
    await page.goto(from);
    await page.locator('main .page').first().waitFor();
    const link = page.locator('.topbar [data-action=my-tokens]');
    assert.ok(await link.isVisible(), `the entry is in the header at ${width} px`);
    const box = await link.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= width, `the entry lies within the ${width} px header: ${JSON.stringify(box)}`);
    // Nothing of the header is pushed out of the window by the entry.
    const out = await page.evaluate((w) => [...document.querySelectorAll('.topbar > *')]
      .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().right > w + 0.5)
      .map((el) => el.className || el.tagName), width);
    assert.deepEqual(out, [], `header elements outside the ${width} px window`);
    await link.click();
    await page.waitForURL(/\/settings#tokens$/, {timeout: 10000});
    const card = page.locator('#tokens.tokens-card');
    await card.waitFor({timeout: 10000});
    assert.equal(await page.title(), 'Settings · Backstop');
    assert.equal(await page.getAttribute('.nav a[data-nav=settings]', 'aria-current'), 'page');
    // The card is scrolled into view, and stays there once the cards above
    // it have loaded: its heading is inside the viewport.
    await page.waitForFunction(() => {
      const r = document.querySelector('#tokens h2').getBoundingClientRect();
      return document.querySelectorAll('main .loading').length === 0 && r.top >= 0 && r.bottom <= innerHeight;
    }, null, {timeout: 10000});
    const head = await card.locator('h2').boundingBox();
    assert.ok(head && head.y >= 0 && head.y < 800, `the API tokens card is in view at ${width} px: ${JSON.stringify(head)}`);
  }
  assert.deepEqual(problems, []);
});

