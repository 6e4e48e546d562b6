// Drives the Packyard console in headless Chromium through every flow a person clicks through, against a
// running dev server, and asserts what the pages show. Run by tests/clients/console.rs:
//
//   node tests/console/e2e.mjs BASE_URL ADMIN_TOKEN
//
// Environment: PACKYARD_TEST_S3_URL, PACKYARD_TEST_S3_ACCESS_KEY, PACKYARD_TEST_S3_SECRET_KEY and
// CONSOLE_E2E_BUCKET (a bucket that exists on that S3 server) for the storage link flow; CONSOLE_E2E_WORK, a
// scratch folder; CONSOLE_E2E_SCREENSHOTS, where to save screenshots (default docs/screenshots); CHROMIUM,
// the browser (default /usr/bin/chromium). Prints one line per step and exits non-zero at the first failure.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';

const [base, adminToken] = process.argv.slice(2);
if (!base || !adminToken) {
  console.error('usage: node tests/console/e2e.mjs BASE_URL ADMIN_TOKEN');
  process.exit(2);
}
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with bash scripts/test`);
  return value;
};
const work = process.env.CONSOLE_E2E_WORK || mkdtempSync(join(tmpdir(), 'console-e2e-'));
const shots = process.env.CONSOLE_E2E_SCREENSHOTS || 'docs/screenshots';
mkdirSync(shots, { recursive: true });

let passed = 0;
async function step(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    console.log(`not ok - ${name}`);
    throw error;
  }
}

// A fresh profile each run: playwright passes it as --user-data-dir.
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 860 },
});
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
const page = context.pages()[0] || await context.newPage();
const consoleErrors = [];
page.on('pageerror', (error) => consoleErrors.push(String(error)));
page.on('dialog', (dialog) => dialog.dismiss());

async function shot(name, fullPage = true) {
  await page.evaluate(() => document.getElementById('toast').classList.remove('show'));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage, animations: 'disabled' });
}
const heading = () => page.locator('main h1').first().innerText();
const npmEnv = (userconfig) => ({
  ...process.env, NPM_CONFIG_USERCONFIG: userconfig, NPM_CONFIG_CACHE: join(work, 'npm-cache'),
  NPM_CONFIG_UPDATE_NOTIFIER: 'false', NPM_CONFIG_FUND: 'false', NPM_CONFIG_AUDIT: 'false',
});
/** Clicks a snippet's Copy button and reads what it put on the clipboard. */
async function copySnippet(title) {
  await page.getByRole('button', { name: `Copy ${title}` }).first().click();
  return page.evaluate(() => navigator.clipboard.readText());
}
/** Every visible form control has a name a screen reader reads out. */
async function assertLabelled(where) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('main input, main select, main textarea')]
    .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, [], `unlabelled controls on ${where}`);
}

try {
  await step('the dev server serves the console at / with a sign-in form', async () => {
    const response = await page.goto(base);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'], /default-src 'self'/);
    await page.getByRole('heading', { name: 'Sign in to Packyard' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).isVisible(), false, 'no menu before signing in');
    await shot('sign-in');
  });

  await step('a wrong token is refused with the reason, inline', async () => {
    await page.getByLabel('API token').fill('pky_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.field-error').getByText('sign in with an organization API token').waitFor();
  });

  await step('signing in with the keyboard alone keeps the token in an HttpOnly cookie only', async () => {
    await page.getByLabel('API token').fill(adminToken);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Registries', exact: true }).waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === 'packyard_session');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read the cookie');
    assert.equal(await page.evaluate(() => JSON.stringify(localStorage)), '{}', 'nothing in localStorage');
    await page.getByText('No registries yet').waitFor();
    assert.match(await page.locator('#who-name').innerText(), /acme/);
  });

  await step('creating a registry with an emoji found by search and a colour', async () => {
    await page.getByRole('link', { name: 'Create registry' }).click();
    await page.getByRole('heading', { name: 'Create a registry' }).waitFor();
    await assertLabelled('the create form');
    await shot('create-registry');
    await page.getByLabel('Name').fill('Web Apps');
    await page.getByLabel('Ecosystem').selectOption('npm');
    await page.getByLabel('Description').fill('Front-end packages');
    const search = page.getByRole('searchbox', { name: 'Emoji (optional)' });
    await search.fill('rocket');
    assert.equal(await page.locator('#emoji-grid button').count(), 1, 'the search narrows the picker');
    await search.fill('');
    // The grid is one stop in the tab order; the arrow keys move within it and Enter chooses.
    const focused = () => page.evaluate(() => document.activeElement.dataset.emoji);
    await search.focus();
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'package');
    await page.keyboard.press('ArrowRight');
    assert.equal(await focused(), 'rocket');
    await page.keyboard.press('Enter');
    assert.equal(await page.getByRole('button', { name: 'rocket' }).getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('Tab');
    assert.notEqual(await focused(), 'snake', 'Tab leaves the grid');
    await page.getByRole('button', { name: 'colour #1a7f37' }).click();
    await page.getByRole('button', { name: 'Create registry' }).click();
    await page.getByRole('heading', { name: /Web Apps/ }).waitFor();
    assert.match(await heading(), /🚀\s*Web Apps\s*npm\s*private/);
  });

  await step('the list shows the registry with its emoji, colour, ecosystem, visibility and count', async () => {
    await page.getByRole('link', { name: 'Registries', exact: true }).click();
    const card = page.locator('[data-slug="web-apps"]');
    await card.waitFor();
    const text = await card.innerText();
    for (const part of ['🚀', 'Web Apps', 'npm', 'private', 'Front-end packages']) assert.ok(text.includes(part), `${part} in ${text}`);
    await page.locator('[data-count="web-apps"]').getByText('0 versions').waitFor();
    const swatch = await card.evaluate((el) => getComputedStyle(el).borderLeftColor);
    assert.equal(swatch, 'rgb(26, 127, 55)');
  });

  let publishNpmrc;
  await step('the publish instructions carry the real URL and, on request, a token', async () => {
    await page.locator('[data-slug="web-apps"] a.title').click();
    await page.getByRole('link', { name: 'Install and publish' }).click();
    const placeholder = await page.locator('#publish pre').first().innerText();
    assert.ok(placeholder.includes(`registry=${base}/npm/acme/web-apps/`), placeholder);
    assert.ok(placeholder.includes(':_authToken=TOKEN'), 'no token until asked for');
    await shot('install');
    await page.getByRole('button', { name: 'Create a publish token and fill it in' }).click();
    await page.locator('#publish pre').first().getByText(/_authToken=pky_/).waitFor();
    publishNpmrc = await copySnippet('.npmrc for publishing');
    assert.match(publishNpmrc, /^registry=http:\/\/127\.0\.0\.1:\d+\/npm\/acme\/web-apps\/\n\/\/127\.0\.0\.1:\d+\/npm\/acme\/web-apps\/:_authToken=pky_[0-9a-f]+\n$/);
  });

  await step('npm publishes with the copied .npmrc and the package appears on the registry page', async () => {
    const dir = join(work, 'hello-console');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hello-console', version: '1.0.0', main: 'index.js', license: 'MIT' }));
    writeFileSync(join(dir, 'index.js'), 'module.exports = "hello from the console";\n');
    writeFileSync(join(work, 'publish.npmrc'), publishNpmrc);
    execFileSync('npm', ['publish'], { cwd: dir, env: npmEnv(join(work, 'publish.npmrc')), stdio: 'pipe' });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hello-console', version: '1.1.0', main: 'index.js', license: 'MIT' }));
    execFileSync('npm', ['publish'], { cwd: dir, env: npmEnv(join(work, 'publish.npmrc')), stdio: 'pipe' });
    await page.getByRole('link', { name: 'Packages' }).click();
    const row = page.locator('#packages tbody tr').first();
    await row.getByText('hello-console').waitFor();
    assert.match(await row.innerText(), /hello-console\s+1\.1\.0/, 'newest first');
    assert.match(await page.locator('#packages tbody tr').nth(1).innerText(), /hello-console\s+1\.0\.0/);
    assert.match(await row.innerText(), /publish to web-apps \(console\)/, 'who published it');
    await page.getByLabel('Search').fill('nothing-like-it');
    await page.getByText('No loaded version matches.').waitFor();
    await page.getByLabel('Search').fill('hello');
    await shot('packages');
  });

  await step('a version shows its files, sizes, SHA-256 and SHA-512, publisher, time and the other versions, and deletes', async () => {
    await page.locator('#packages tbody tr').nth(1).getByRole('link', { name: 'hello-console' }).click();
    await page.getByRole('heading', { name: /hello-console/ }).waitFor();
    assert.match(await heading(), /1\.0\.0/);
    assert.deepEqual(await page.locator('#versions li').allInnerTexts(), ['1.1.0', '1.0.0'], 'every version of the package');
    const files = await page.locator('#files').innerText();
    assert.match(files, /hello-console-1\.0\.0\.tgz/);
    assert.match(files, /SHA-256 [0-9a-f]{64}/);
    assert.match(files, /SHA-512 [0-9a-f]{128}/);
    assert.match(files, /\d+(\.\d)? (B|KiB)/);
    assert.match(await page.locator('main').innerText(), /Published .* by publish to web-apps \(console\)/);
    await shot('package');
    await page.getByRole('button', { name: 'Delete this version' }).click();
    const confirm = page.getByRole('dialog').getByRole('button', { name: 'Delete version' });
    assert.equal(await confirm.isDisabled(), true, 'not before the version is typed');
    await page.getByLabel('Type 1.0.0 to confirm').fill('1.0.0');
    await confirm.click();
    await page.locator('#packages tbody tr', { hasText: '1.1.0' }).waitFor();
    assert.equal(await page.locator('#packages tbody tr').count(), 1, 'only 1.1.0 is left');
  });

  let registryToken;
  await step('the install instructions, copied with a registry token filled in, install the package', async () => {
    await page.getByRole('link', { name: 'Install and publish' }).click();
    await page.getByRole('button', { name: 'Fill in a read-only registry token' }).click();
    await page.locator('#install pre').first().getByText(/_authToken=pkr_/).waitFor();
    const npmrc = await copySnippet('.npmrc');
    registryToken = /_authToken=(pkr_[0-9a-f]+)/.exec(npmrc)[1];
    const project = join(work, 'consumer');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }));
    writeFileSync(join(project, '.npmrc'), npmrc);
    const install = (await page.locator('#install pre').nth(1).innerText()).trim();
    assert.equal(install, 'npm install <package>');
    execFileSync('npm', ['install', 'hello-console'], { cwd: project, env: npmEnv(join(project, '.npmrc')), stdio: 'pipe' });
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/hello-console/package.json'), 'utf8'));
    assert.equal(installed.version, '1.1.0', 'the newest version');
  });

  await step('registry tokens: listed, revealed and copied again, renamed, created and deleted', async () => {
    await page.getByRole('link', { name: 'Tokens and CI' }).click();
    await page.locator('#registry-tokens').waitFor();
    await assertLabelled('the tokens tab');
    await shot('tokens');
    await page.locator('[data-reveal]').first().click();
    await page.locator('#registry-tokens code').getByText(registryToken).waitFor();
    await page.getByRole('button', { name: 'Copy token' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), registryToken);
    await page.getByLabel('New registry token').fill('staging servers');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('#registry-tokens input[value="staging servers"]').waitFor();
    const row = page.locator('#registry-tokens tr', { has: page.locator('input[value="staging servers"]') });
    await row.getByLabel('Description').fill('staging and QA servers');
    await row.getByRole('button', { name: 'Save' }).click();
    await page.locator('#toast').getByText('Saved', { exact: true }).waitFor();
    await page.reload();
    const renamed = page.locator('#registry-tokens tr', { has: page.locator('input[value="staging and QA servers"]') });
    await renamed.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByText('stops working at once').waitFor();
    await page.getByRole('button', { name: 'Delete token' }).click();
    await page.locator('#registry-tokens input[value="staging and QA servers"]').waitFor({ state: 'detached' });
    await page.locator('#registry-tokens input[value="install instructions (console)"]').waitFor();
  });

  await step('the OIDC policy editor saves a sample and shows a bad policy\'s line and reason inline', async () => {
    await page.getByRole('button', { name: 'GitHub Actions' }).click();
    assert.match(await page.getByLabel('Policy (YAML or JSON)').inputValue(), /token\.actions\.githubusercontent\.com/);
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    await page.getByLabel('Policy (YAML or JSON)').fill('- iss: https://token.actions.githubusercontent.com\n  scopes: [read_packages, fly]\n');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const error = await page.locator('#oidc-error').innerText();
    assert.match(error, /line 2/i, error);
    assert.match(error, /fly/, error);
  });

  await step('making the registry public says what changes, hides its tokens, and private brings them back', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Make public' }).click();
    const dialog = page.getByRole('dialog');
    assert.match(await dialog.innerText(), /Anyone who knows its address can list and download its packages/);
    await dialog.getByRole('button', { name: 'Make public' }).click();
    await page.getByRole('button', { name: 'Make private' }).waitFor();
    assert.match(await heading(), /public/);
    await page.getByRole('link', { name: 'Tokens and CI' }).click();
    await page.getByText('its registry tokens are hidden').waitFor();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Make private' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Make private' }).click();
    await page.getByRole('button', { name: 'Make public' }).waitFor();
  });

  await step('editing a registry keeps its ecosystem fixed', async () => {
    assert.match(await page.locator('#edit-registry').innerText(), /The ecosystem is fixed/);
    assert.equal(await page.locator('#edit-registry select[name=ecosystem]').count(), 0);
    await page.getByLabel('Description').fill('Front-end packages, signed');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Front-end packages, signed').first().waitFor();
  });

  await step('an S3-compatible link passes its diagnostic and a wrong secret fails with its reason', async () => {
    await page.getByRole('link', { name: 'Storage' }).click();
    await page.getByRole('heading', { name: 'Storage', exact: true }).waitFor();
    assert.match(await page.locator('#default-storage').innerText(), /Packyard storage/);
    const addLink = async (secret, path) => {
      await page.getByLabel('Provider').selectOption('s3_compatible');
      await page.getByLabel('Endpoint').fill(env('PACKYARD_TEST_S3_URL'));
      await page.locator('#s3-fields').getByLabel('Bucket', { exact: true }).fill(env('CONSOLE_E2E_BUCKET'));
      await page.locator('#s3-fields').getByLabel('Path inside the bucket').fill(path);
      await page.getByLabel('Access key id').fill(env('PACKYARD_TEST_S3_ACCESS_KEY'));
      await page.getByLabel(/Secret access key/).fill(secret);
      await assertLabelled('the storage link form');
      await page.getByRole('button', { name: 'Add link' }).click();
      const card = page.locator('[data-link]', { hasText: `/${path}/` });
      await card.waitFor();
      return card;
    };
    const good = await addLink(env('PACKYARD_TEST_S3_SECRET_KEY'), 'console-good');
    assert.match(await good.innerText(), /pending/);
    assert.doesNotMatch(await page.locator('main').innerText(), new RegExp(env('PACKYARD_TEST_S3_SECRET_KEY')), 'the secret is write-only');
    await good.getByRole('button', { name: 'Run diagnostic' }).click();
    await good.getByText('Diagnostic passed').waitFor();
    assert.equal(await good.locator('.steps li.failed').count(), 0);
    assert.ok(await good.locator('.steps li.passed').count() >= 3);
    assert.match(await good.innerText(), /active/);

    const bad = await addLink('not-the-secret', 'console-bad');
    await bad.getByRole('button', { name: 'Run diagnostic' }).click();
    await bad.getByText('Diagnostic failed').waitFor();
    const failed = bad.locator('.steps li.failed').first();
    assert.equal(await failed.getAttribute('data-step'), 'put_object');
    const reason = await failed.innerText();
    assert.match(reason, /SignatureDoesNotMatch/);
    assert.match(reason, /secret access key/);
    await shot('storage');

    await good.getByRole('button', { name: 'Make default' }).click();
    const goodAgain = page.locator('[data-link]', { hasText: '/console-good/' });
    await goodAgain.locator('.badge', { hasText: 'default' }).waitFor();
    assert.match(await page.locator('#default-storage').innerText(), /console-good/);
    await goodAgain.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete link' }).click();
    await goodAgain.locator('ul.in-use li').getByText("the organization's default storage").waitFor();
  });

  await step('an AWS link gives a Launch Stack button that opens the quick-create URL in a new tab', async () => {
    await page.getByLabel('Provider').selectOption('aws');
    await page.getByLabel('AWS account id').fill('111122223333');
    await page.locator('#aws-fields').getByLabel('Region', { exact: true }).fill('eu-west-1');
    await page.locator('#aws-fields').getByLabel('Bucket', { exact: true }).fill('acme-packages');
    await page.getByRole('button', { name: 'Add link' }).click();
    const launch = page.getByRole('link', { name: /Launch Stack/ });
    await launch.waitFor();
    assert.equal(await launch.getAttribute('target'), '_blank');
    assert.match(await launch.getAttribute('href'), /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudformation\/home\?region=eu-west-1#\/stacks\/quickcreate\?/);
  });

  await step('a registry chooses its own storage on its settings', async () => {
    await page.goto(`${base}/#/r/web-apps/settings`);
    const select = page.getByLabel('Where new files go');
    await select.waitFor();
    const value = await select.locator('option', { hasText: 'console-good' }).getAttribute('value');
    await select.selectOption(value);
    await page.getByRole('button', { name: 'Save storage' }).click();
    await page.locator('#toast').getByText('Storage saved').waitFor();
    await page.reload();
    await page.getByText(/Now: s3:\/\/\S*console-good/).waitFor();
  });

  await step('teams: create one, add a member, grant it a registry', async () => {
    await page.getByRole('link', { name: 'Teams' }).click();
    await page.getByLabel('New team').fill('Front End');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByLabel('Add a member to Front End').fill('ada');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.locator('.card', { hasText: 'Front End' }).getByText('ada').waitFor();
    await page.goto(`${base}/#/r/web-apps/settings`);
    await page.getByLabel('Access of Front End').selectOption('read_write');
    await page.locator('#toast').getByText('Front End: read_write').waitFor();
    await page.goto(`${base}/#/teams`);
    await page.getByText('web-apps: read_write').waitFor();
  });

  await step('deleting a registry asks for its name to be typed', async () => {
    await page.goto(`${base}/#/registries/new`);
    await page.getByLabel('Name').fill('Scratch');
    await page.getByLabel('Ecosystem').selectOption('files');
    await page.getByRole('button', { name: 'Create registry' }).click();
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Delete registry' }).click();
    const confirm = page.getByRole('dialog').getByRole('button', { name: 'Delete registry' });
    assert.equal(await confirm.isDisabled(), true);
    await page.getByLabel('Type scratch to confirm').fill('scratc');
    assert.equal(await confirm.isDisabled(), true);
    await page.getByLabel('Type scratch to confirm').fill('scratch');
    await confirm.click();
    await page.getByRole('heading', { name: 'Registries', exact: true }).waitFor();
    await page.locator('[data-slug="web-apps"]').waitFor();
    assert.equal(await page.locator('[data-slug="scratch"]').count(), 0);
    await page.locator('[data-count="web-apps"]').getByText('1 version').waitFor();
    await shot('registries');
  });

  await step('the audit log lists changes newest first, filters by registry and actor, shows before and after', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    const items = page.locator('#audit > li');
    await items.first().waitFor();
    assert.equal(await items.first().getAttribute('data-action'), 'registry.deleted');
    const actions = await items.evaluateAll((els) => els.map((el) => el.dataset.action));
    for (const action of ['registry.created', 'registry.updated', 'storage_link.created']) {
      assert.ok(actions.includes(action), `${action} in ${actions}`);
    }
    await page.getByLabel('Registry').selectOption({ label: 'Web Apps' });
    const filtered = await items.evaluateAll((els) => els.map((el) => el.innerText));
    assert.ok(filtered.length > 0 && filtered.length < actions.length, 'the filter narrows the list');
    assert.ok(filtered.every((text) => !text.includes('registry.deleted')), 'scratch is filtered out');
    const madePublic = page.locator('#audit > li[data-action="registry.made_public"]');
    assert.match(await madePublic.locator('.change').innerText(), /public\s+false\s+true/);
    await page.getByLabel('Registry').selectOption('');
    await page.getByLabel('Actor').selectOption({ label: 'publish to web-apps (console)' });
    const byPublisher = await items.evaluateAll((els) => els.map((el) => el.dataset.action));
    assert.deepEqual(byPublisher, ['package.published', 'package.published'], 'the two npm publishes');
    await page.getByLabel('Actor').selectOption({ label: 'bootstrap admin token' });
    assert.ok((await items.evaluateAll((els) => els.map((el) => el.dataset.action))).includes('package.deleted'));
    await page.getByLabel('Actor').selectOption('');
    assert.equal(await page.getByRole('button', { name: 'Load older events' }).isVisible(), false, 'every event is loaded');
    await shot('audit', false);
  });

  await step('on a phone the registry list fits the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/#/`);
    await page.locator('[data-slug="web-apps"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await shot('registries-phone');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  await step('signing out forgets the session', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Packyard' }).waitFor();
    const cookies = await context.cookies();
    assert.equal(cookies.find((cookie) => cookie.name === 'packyard_session'), undefined);
    const answer = await page.evaluate(async () => (await fetch('/console/session')).status);
    assert.equal(answer, 401);
  });

  assert.deepEqual(consoleErrors, [], 'no script errors');
  console.log(`console e2e: ${passed} steps passed`);
} finally {
  await context.close();
}
