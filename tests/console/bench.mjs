// Measures the console's registry list page in headless Chromium: bytes transferred (every response's encoded
// size with headers, from the DevTools protocol: the page, its assets and its API calls) and first paint,
// first contentful paint and the moment the list is on screen, each load in a fresh profile (a cold cache) after
// an about:blank that starts the browser's renderer.
// Run by scripts/bench-console: node tests/console/bench.mjs BASE_URL ADMIN_TOKEN RUNS. Prints one JSON line.

import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const [base, token, runs = '10'] = process.argv.slice(2);
const results = [];
for (let run = 0; run < Number(runs); run += 1) {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-bench-')), {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  await context.addCookies([{ name: 'packyard_session', value: token, url: base, httpOnly: true, sameSite: 'Strict' }]);
  const page = context.pages()[0] || await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const requests = new Map();
  let bytes = 0;
  cdp.on('Network.requestWillBeSent', (event) => requests.set(event.requestId, event.request.url));
  cdp.on('Network.loadingFinished', (event) => { bytes += event.encodedDataLength; });
  // The browser's own start (a renderer process for the first page) is not the page's cost.
  await page.goto('about:blank');
  await page.goto(`${base}/#/`);
  await page.locator('#registries li').first().waitFor();
  await page.waitForLoadState('networkidle');
  const timing = await page.evaluate(() => {
    const paint = Object.fromEntries(performance.getEntriesByType('paint').map((entry) => [entry.name, entry.startTime]));
    const counted = document.querySelectorAll('#registries [data-count]').length;
    const css = performance.getEntriesByType('resource').find((entry) => entry.name.endsWith('/console/app.css'));
    return {
      firstPaint: paint['first-paint'], firstContentfulPaint: paint['first-contentful-paint'], registries: counted,
      pageResponseStart: performance.getEntriesByType('navigation')[0].responseStart, cssResponseEnd: css ? css.responseEnd : null,
    };
  });
  const listShown = await page.evaluate(() => performance.getEntriesByName('registries-shown')[0]?.startTime ?? null);
  results.push({ bytes, requests: requests.size, ...timing, listShown });
  await context.close();
}
console.log(JSON.stringify(results));
