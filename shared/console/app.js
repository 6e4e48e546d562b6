// Packyard console: a hash-routed page over the REST API (/v1/...), the same calls every client makes.
// Signed in with an HttpOnly session cookie the page cannot read; see /console/session.

import {
  h, api, ApiFailure, localPath, toast, copyButton, snippet, notice, confirmDialog, showFailure,
  formatBytes, formatTime, EMOJI, emojiChar,
} from './ui.js';
import { instructions } from './install.js';

const ECOSYSTEMS = [
  ['npm', 'npm (JavaScript)'], ['python', 'Python (pip, uv, twine)'], ['cargo', 'Cargo (Rust)'],
  ['oci', 'OCI images (docker, skopeo)'], ['maven', 'Maven (mvn, Gradle)'], ['ruby', 'RubyGems (gem, bundler)'],
  ['debian', 'Debian packages (apt)'], ['rpm', 'RPM packages (dnf, yum)'], ['files', 'Generic files (curl)'],
];
const COLORS = ['#0b57d0', '#1a7f37', '#bf3989', '#cf222e', '#bc4c00', '#9a6700', '#8250df', '#1b7c83', '#57606a'];
const ACCESS = [['read', 'read'], ['read_write', 'read and publish'], ['full', 'full (also delete and manage)']];

let session = null;
const main = document.getElementById('main');
const org = () => session.organization;
const orgPath = (rest = '') => `/v1/organizations/${org()}${rest}`;
const regPath = (slug, rest = '') => orgPath(`/registries/${encodeURIComponent(slug)}${rest}`);

// --- routing ---------------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/?$/, () => registriesPage()],
  [/^#\/registries\/new$/, () => registryForm(null)],
  [/^#\/r\/([^/]+)$/, (slug) => registryPage(slug, 'packages')],
  [/^#\/r\/([^/]+)\/(install|tokens|settings)$/, (slug, tab) => registryPage(slug, tab)],
  [/^#\/r\/([^/]+)\/p\/([^/]+)$/, (slug, id) => packagePage(slug, id)],
  [/^#\/storage$/, () => storagePage()],
  [/^#\/teams$/, () => teamsPage()],
  [/^#\/audit$/, () => auditPage()],
];

async function route() {
  if (!session) return signInPage();
  const hash = location.hash || '#/';
  document.querySelectorAll('#nav a').forEach((a) => {
    const target = a.getAttribute('href');
    const current = target === '#/' ? (hash === '#/' || hash.startsWith('#/r')) : hash.startsWith(target);
    if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  for (const [pattern, render] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) {
      try {
        await render(...match.slice(1).map(decodeURIComponent));
      } catch (failure) {
        if (failure instanceof ApiFailure && failure.status === 401) return signedOut();
        show(h('h1', {}, 'Something went wrong'), notice(failure.message, 'bad'));
      }
      return;
    }
  }
  show(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the registries')));
}

/** Replaces the page's content and moves focus to its heading, so keyboard and screen reader users follow. */
function show(...children) {
  main.replaceChildren(...children.flat());
  const heading = main.querySelector('h1');
  document.title = heading ? `${heading.textContent.trim()} · Packyard` : 'Packyard';
  (heading || main).setAttribute('tabindex', '-1');
  (heading || main).focus({ preventScroll: false });
}

function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

// --- session ---------------------------------------------------------------------------------------------

async function start() {
  try {
    session = await api('GET', '/console/session');
  } catch {
    session = null;
  }
  header();
  window.addEventListener('hashchange', route);
  document.getElementById('sign-out').addEventListener('click', async () => {
    await api('DELETE', '/console/session').catch(() => {});
    signedOut();
  });
  route();
}

function header() {
  document.getElementById('nav').hidden = !session;
  document.getElementById('who').hidden = !session;
  if (!session) return;
  document.getElementById('who-name').textContent = `${session.organization} · ${session.description}`;
  document.querySelectorAll('[data-admin]').forEach((el) => { el.hidden = !session.admin; });
}

function signedOut() {
  session = null;
  header();
  signInPage();
}

function signInPage() {
  const input = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const form = h('form', { class: 'signin', id: 'sign-in' },
    h('h1', {}, 'Sign in to Packyard'),
    h('p', { class: 'muted' }, 'Paste an organization API token (pky_…). The console keeps it in an HttpOnly cookie for 12 hours; signing out forgets it.'),
    h('label', { for: 'token' }, 'API token'), input,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    h('p', { class: 'hint' }, 'The dev server prints its first admin token when it starts and keeps it in .packyard/admin-token.'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      session = await api('POST', '/console/session', { token: input.value });
      header();
      if (!location.hash || location.hash === '#/') route(); else go(location.hash);
    } catch (failure) {
      showFailure(form, failure);
    }
  });
  show(form);
  input.focus();
}

// --- registries ------------------------------------------------------------------------------------------

async function registriesPage() {
  const { registries } = await api('GET', orgPath('/registries?per_page=100'));
  const create = session.admin || session.scopes.includes('write_registries')
    ? h('a', { class: 'button primary', href: '#/registries/new' }, 'Create registry') : null;
  const list = registries.length
    ? h('ul', { class: 'cards', id: 'registries' }, registries.map(registryCard))
    : notice('No registries yet. Create one for each ecosystem your teams publish to.');
  show(h('div', { class: 'row spread' }, h('h1', {}, 'Registries'), create), list);
  performance.mark('registries-shown'); // what scripts/bench-console reads
  registries.forEach(countPackages);
}

function registryCard(registry) {
  return h('li', { class: 'card', style: registry.color ? `--swatch:${registry.color}` : null, 'data-slug': registry.slug },
    h('div', { class: 'row' },
      h('span', { class: 'emoji', 'aria-hidden': 'true' }, emojiChar(registry.emoji) || '📦'),
      h('a', { class: 'title', href: `#/r/${registry.slug}` }, registry.name)),
    h('p', { class: 'row' },
      h('span', { class: 'badge' }, registry.ecosystem),
      h('span', { class: `badge ${registry.public ? 'public' : ''}` }, registry.public ? 'public' : 'private'),
      h('span', { class: 'muted', 'data-count': registry.slug }, '…')),
    registry.description ? h('p', { class: 'muted' }, registry.description) : null);
}

/** Fills in how many versions a registry holds (one page of up to 100; more shows as 100+). */
async function countPackages(registry) {
  const el = main.querySelector(`[data-count="${CSS.escape(registry.slug)}"]`);
  try {
    const page = await api('GET', regPath(registry.slug, '/packages?per_page=100'));
    const count = page.packages.length;
    el.textContent = `${count}${page.links && page.links.next ? '+' : ''} ${count === 1 ? 'version' : 'versions'}`;
  } catch {
    el.textContent = '';
  }
}

function emojiPicker(current) {
  let chosen = current || '';
  const hidden = h('input', { type: 'hidden', name: 'emoji', value: chosen });
  const search = h('input', { type: 'search', id: 'emoji-search', placeholder: 'Search emoji: rocket, snake, lock…', 'aria-controls': 'emoji-grid', 'aria-describedby': 'emoji-help' });
  const grid = h('div', { class: 'emoji-grid', id: 'emoji-grid', role: 'group', 'aria-label': 'Choices' });
  const render = () => {
    const words = search.value.trim().toLowerCase();
    grid.replaceChildren(...EMOJI.filter(([, code, keywords]) => !words || code.includes(words) || keywords.includes(words))
      .map(([char, code]) => h('button', {
        type: 'button', title: `:${code}:`, 'aria-label': code.replace(/_/g, ' '), 'aria-pressed': String(chosen === `:${code}:`),
        'data-emoji': code, tabindex: '-1',
        onclick: () => { chosen = chosen === `:${code}:` ? '' : `:${code}:`; hidden.value = chosen; render(); grid.querySelector(`[data-emoji="${code}"]`)?.focus(); },
      }, char)));
    // One stop in the tab order: the chosen emoji, else the first; the arrow keys move within the grid.
    const stop = grid.querySelector('[aria-pressed="true"]') || grid.firstElementChild;
    if (stop) stop.tabIndex = 0;
  };
  search.addEventListener('input', render);
  grid.addEventListener('keydown', rovingFocus);
  render();
  return h('div', {}, h('label', { for: 'emoji-search' }, 'Emoji ', h('span', { class: 'hint' }, '(optional)')),
    h('p', { class: 'hint', id: 'emoji-help' }, 'Tab into the grid, move with the arrow keys, choose with Enter.'), search, grid, hidden);
}

function colorPicker(current) {
  const input = h('input', { type: 'color', name: 'color', id: 'color', value: current || COLORS[0] });
  const swatches = h('div', { class: 'swatches', role: 'group', 'aria-label': 'Suggested colours' });
  const render = () => swatches.replaceChildren(...COLORS.map((color) => h('button', {
    type: 'button', style: `background:${color}`, 'aria-label': `colour ${color}`, 'aria-pressed': String(input.value === color),
    onclick: () => { input.value = color; render(); },
  })), input);
  input.addEventListener('input', render);
  render();
  return h('div', {}, h('label', { for: 'color' }, 'Colour'), swatches);
}

/** The create form (registry null) or the edit form of a registry's settings. */
async function registryForm(registry) {
  const editing = !!registry;
  const ecosystem = editing
    ? h('p', {}, h('span', { class: 'badge' }, registry.ecosystem), ' ', h('span', { class: 'hint' }, 'The ecosystem is fixed when a registry is created.'))
    : h('select', { name: 'ecosystem', id: 'ecosystem', required: true }, ECOSYSTEMS.map(([value, label]) => h('option', { value }, label)));
  const form = h('form', { id: editing ? 'edit-registry' : 'create-registry' },
    h('label', { for: 'name' }, 'Name'),
    h('input', { type: 'text', name: 'name', id: 'name', required: true, maxlength: '100', value: editing ? registry.name : '' }),
    h('label', { for: 'ecosystem' }, 'Ecosystem'), ecosystem,
    h('label', { for: 'description' }, 'Description ', h('span', { class: 'hint' }, '(optional)')),
    h('textarea', { name: 'description', id: 'description', maxlength: '1000', style: 'min-height:4rem' }, editing ? registry.description || '' : ''),
    emojiPicker(editing ? registry.emoji : ''),
    colorPicker(editing ? registry.color : ''),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create registry'),
      editing ? null : h('a', { class: 'button', href: '#/' }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      name: data.get('name'), description: data.get('description') || null,
      emoji: data.get('emoji') || null, color: data.get('color') || null,
    };
    try {
      if (editing) {
        const updated = await api('PATCH', regPath(registry.slug), body);
        toast('Saved');
        go(`#/r/${updated.slug}/settings`);
      } else {
        body.ecosystem = data.get('ecosystem');
        if (!body.description) delete body.description;
        const created = await api('POST', orgPath('/registries'), body);
        toast(`Created ${created.name}`);
        go(`#/r/${created.slug}/install`);
      }
    } catch (failure) {
      showFailure(form, failure);
    }
  });
  if (editing) return form;
  show(h('h1', {}, 'Create a registry'), form);
  return form;
}

/** Arrow keys move focus within a grid of buttons that is a single stop in the tab order. */
function rovingFocus(event) {
  const buttons = [...event.currentTarget.querySelectorAll('button')];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0) return;
  const columns = buttons.filter((b) => b.offsetTop === buttons[0].offsetTop).length || 1;
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -at, End: buttons.length - 1 - at }[event.key];
  if (step === undefined) return;
  event.preventDefault();
  const next = buttons[Math.min(buttons.length - 1, Math.max(0, at + step))];
  buttons.forEach((b) => { b.tabIndex = b === next ? 0 : -1; });
  next.focus();
}

async function registryPage(slug, tab) {
  const registry = await api('GET', regPath(slug));
  const tabs = [['packages', 'Packages', ''], ['install', 'Install and publish', '/install'], ['tokens', 'Tokens and CI', '/tokens'], ['settings', 'Settings', '/settings']];
  const title = h('h1', {},
    h('span', { class: 'emoji', 'aria-hidden': 'true' }, emojiChar(registry.emoji) || '📦'), registry.name,
    h('span', { class: 'badge' }, registry.ecosystem),
    h('span', { class: `badge ${registry.public ? 'public' : ''}` }, registry.public ? 'public' : 'private'));
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Registry' }, tabs.map(([key, label, suffix]) =>
    h('a', { href: `#/r/${slug}${suffix}`, 'aria-current': key === tab ? 'page' : null }, label)));
  const body = h('section', { 'aria-label': tabs.find(([key]) => key === tab)[1] });
  show(h('p', {}, h('a', { href: '#/' }, '← Registries')), title,
    registry.description ? h('p', { class: 'muted' }, registry.description) : null, nav, body);
  const render = { packages: packagesTab, install: installTab, tokens: tokensTab, settings: settingsTab }[tab];
  await render(registry, body);
}

// --- packages --------------------------------------------------------------------------------------------

async function packagesTab(registry, body) {
  let loaded = [];
  let next = regPath(registry.slug, '/packages?per_page=20');
  const filter = h('input', { type: 'search', id: 'package-search', placeholder: 'Filter by package name' });
  const rows = h('tbody');
  const more = h('button', { type: 'button', id: 'more-packages' }, 'Load more');
  const render = () => {
    const words = filter.value.trim().toLowerCase();
    const shown = loaded.filter((p) => !words || p.name.toLowerCase().includes(words));
    rows.replaceChildren(...shown.map((p) => h('tr', {},
      h('td', {}, h('a', { href: `#/r/${registry.slug}/p/${p.id}` }, p.name)),
      h('td', {}, p.version),
      h('td', { class: 'wide-only' }, formatBytes(p.size)),
      h('td', { class: 'wide-only' }, p.creator ? p.creator.name : ''),
      h('td', {}, formatTime(p.created_at)))));
    if (!shown.length) rows.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, loaded.length ? 'No loaded version matches.' : 'Nothing published yet: see Install and publish.')));
  };
  const load = async () => {
    const page = await api('GET', next);
    loaded = loaded.concat(page.packages);
    next = page.links && page.links.next ? localPath(page.links.next) : null;
    more.hidden = !next;
    render();
  };
  filter.addEventListener('input', render);
  more.addEventListener('click', load);
  body.append(
    h('label', { for: 'package-search' }, 'Search ', h('span', { class: 'hint' }, '(newest first; filters the versions loaded)')), filter,
    h('div', { class: 'table-wrap' }, h('table', { id: 'packages' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Package'), h('th', { scope: 'col' }, 'Version'),
        h('th', { scope: 'col', class: 'wide-only' }, 'Size'), h('th', { scope: 'col', class: 'wide-only' }, 'Published by'),
        h('th', { scope: 'col' }, 'Published'))), rows)),
    h('div', { class: 'actions' }, more));
  await load();
}

async function packagePage(slug, id) {
  const [registry, pkg] = await Promise.all([api('GET', regPath(slug)), api('GET', regPath(slug, `/packages/${id}`))]);
  const { packages: versions } = await api('GET', regPath(slug, `/packages?per_page=100&name=${encodeURIComponent(pkg.name)}`));
  const others = h('ul', { class: 'row', id: 'versions', style: 'list-style:none;padding:0' }, versions.map((v) => h('li', {},
    v.id === pkg.id ? h('span', { class: 'badge ok', 'aria-current': 'page' }, v.version) : h('a', { class: 'badge', href: `#/r/${slug}/p/${v.id}` }, v.version))));
  const files = h('div', { class: 'table-wrap' }, h('table', { id: 'files' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'File'), h('th', { scope: 'col' }, 'Size'), h('th', { scope: 'col' }, 'Checksums'))),
    h('tbody', {}, pkg.files.map((file) => h('tr', {},
      h('td', {}, h('a', { href: localPath(file.download_url) }, file.filename)),
      h('td', { class: 'nowrap' }, formatBytes(file.size)),
      h('td', {},
        h('div', {}, 'SHA-256 ', h('code', { class: 'hash' }, file.sha256), copyButton(file.sha256, 'Copy SHA-256')),
        file.sha512 ? h('div', {}, 'SHA-512 ', h('code', { class: 'hash' }, file.sha512), copyButton(file.sha512, 'Copy SHA-512')) : null))))));
  const remove = h('button', { type: 'button', class: 'danger', id: 'delete-package' }, 'Delete this version');
  remove.addEventListener('click', async () => {
    const label = `${pkg.name}@${pkg.version}`;
    const sure = await confirmDialog({
      title: `Delete ${label}?`, confirmLabel: 'Delete version', typeToConfirm: pkg.version,
      body: ['Its files are removed and clients can no longer install it. The version cannot be published again.'],
    });
    if (!sure) return;
    try {
      await api('DELETE', regPath(slug, `/packages/${id}`));
      toast(`Deleted ${label}`);
      go(`#/r/${slug}`);
    } catch (failure) {
      remove.after(notice(failure.message, 'bad'));
    }
  });
  show(h('p', {}, h('a', { href: `#/r/${slug}` }, `← ${registry.name}`)),
    h('h1', {}, pkg.name, h('span', { class: 'badge' }, pkg.version)),
    h('p', { class: 'muted' }, 'Published ', formatTime(pkg.created_at), ' by ', h('strong', {}, pkg.creator ? pkg.creator.name : 'unknown'),
      ` · ${formatBytes(pkg.size)}`),
    h('h2', {}, 'Files'), files,
    h('h2', {}, 'Versions'), others,
    h('h2', {}, 'Install'), installSnippets(registry, pkg.name, 'TOKEN').install,
    h('div', { class: 'actions' }, remove));
}

// --- install instructions --------------------------------------------------------------------------------

function installSnippets(registry, pkg, token) {
  const base = registry.url.split('/v1/')[0];
  const host = base.replace(/^https?:\/\//, '');
  const built = instructions(registry.ecosystem, { base, host, org: org(), slug: registry.slug, token, pkg });
  if (!built) {
    const none = [notice(`Instructions for ${registry.ecosystem} registries are not written yet; see the README.`)];
    return { install: none, publish: none };
  }
  const render = (items) => items.map((item) => snippet(item.title, item.text, item.note));
  return { install: render(built.install), publish: render(built.publish) };
}

async function installTab(registry, body) {
  let installToken = 'TOKEN';
  let publishToken = 'TOKEN';
  const install = h('div', { id: 'install' });
  const publish = h('div', { id: 'publish' });
  const render = () => {
    install.replaceChildren(...installSnippets(registry, null, installToken).install);
    publish.replaceChildren(...installSnippets(registry, null, publishToken).publish);
  };
  const fillRead = h('button', { type: 'button', id: 'fill-install-token' }, 'Fill in a read-only registry token');
  fillRead.addEventListener('click', async () => {
    try {
      const made = await api('POST', regPath(registry.slug, '/tokens'), { description: 'install instructions (console)' });
      installToken = made.token;
      render();
      toast('Created a registry token and filled it in');
    } catch (failure) {
      fillRead.after(notice(failure.message, 'bad'));
    }
  });
  const fillWrite = h('button', { type: 'button', id: 'fill-publish-token' }, 'Create a publish token and fill it in');
  fillWrite.addEventListener('click', async () => {
    try {
      const made = await api('POST', orgPath('/tokens'), {
        description: `publish to ${registry.slug} (console)`, scopes: ['read_packages', 'write_packages'], admin: false,
      });
      publishToken = made.token;
      render();
      toast('Created a publish token and filled it in');
    } catch (failure) {
      fillWrite.after(notice(failure.message, 'bad'));
    }
  });
  render();
  body.append(
    h('p', { class: 'muted' }, 'TOKEN stands for a token until you ask for one to be filled in; each button issues a new token, listed under Tokens.'),
    h('h2', {}, 'Install'),
    registry.public ? notice('This registry is public: installing needs no token.') : h('div', { class: 'actions' }, fillRead),
    install,
    h('h2', {}, 'Publish'),
    session.admin ? h('div', { class: 'actions' }, fillWrite) : h('p', { class: 'hint' }, 'Ask an admin for a token with write_packages.'),
    publish);
}

// --- registry tokens, OIDC -------------------------------------------------------------------------------

async function tokensTab(registry, body) {
  if (registry.public) {
    body.append(notice('This registry is public, so its registry tokens are hidden and count for nothing; they come back when it is private again.', 'warn'));
  } else {
    await registryTokens(registry, body);
  }
  await oidcEditor(registry, body);
}

async function registryTokens(registry, body) {
  const { tokens } = await api('GET', regPath(registry.slug, '/tokens'));
  const rows = tokens.map((token) => {
    const secret = h('code', { class: 'hash' });
    const reveal = h('button', { type: 'button', 'data-reveal': token.id }, 'Reveal');
    reveal.addEventListener('click', async () => {
      const shown = await api('GET', regPath(registry.slug, `/tokens/${token.id}`));
      secret.textContent = shown.token;
      reveal.replaceWith(copyButton(shown.token, 'Copy token'));
    });
    const description = h('input', { type: 'text', value: token.description, 'aria-label': 'Description', name: 'description' });
    const save = h('button', { type: 'button' }, 'Save');
    save.addEventListener('click', async () => {
      await api('PATCH', regPath(registry.slug, `/tokens/${token.id}`), { description: description.value });
      toast('Saved');
    });
    const remove = h('button', { type: 'button', class: 'danger' }, 'Delete');
    remove.addEventListener('click', async () => {
      if (!await confirmDialog({ title: 'Delete this token?', confirmLabel: 'Delete token', body: [`“${token.description}” stops working at once.`] })) return;
      await api('DELETE', regPath(registry.slug, `/tokens/${token.id}`));
      go(`#/r/${registry.slug}/tokens`);
    });
    return h('tr', {}, h('td', {}, description), h('td', { class: 'wide-only' }, formatTime(token.created_at)),
      h('td', {}, secret, h('div', { class: 'row' }, reveal, save, remove)));
  });
  const input = h('input', { type: 'text', name: 'description', id: 'new-token', required: true, placeholder: 'e.g. staging servers' });
  const form = h('form', { id: 'create-token' }, h('label', { for: 'new-token' }, 'New registry token'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit', class: 'primary' }, 'Create token')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', regPath(registry.slug, '/tokens'), { description: input.value });
      go(`#/r/${registry.slug}/tokens`);
    } catch (failure) {
      showFailure(form, failure);
    }
  });
  body.append(h('h2', {}, 'Registry tokens'),
    h('p', { class: 'muted' }, 'Read-only tokens (pkr_…) for this registry alone: for servers and laptops that install packages.'),
    tokens.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'registry-tokens' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col', class: 'wide-only' }, 'Created'), h('th', { scope: 'col' }, 'Token'))),
      h('tbody', {}, rows))) : h('p', {}, 'No registry tokens yet.'),
    form);
}

const OIDC_SAMPLES = {
  'GitHub Actions': (org, slug) => `- iss: https://token.actions.githubusercontent.com\n  scopes: [read_packages, write_packages]\n  claims:\n    repository_owner: ${org}\n    ref: { matches: "refs/heads/main" }\n`,
  'GitLab CI': (org) => `- iss: https://gitlab.com\n  scopes: [read_packages, write_packages]\n  claims:\n    namespace_path: ${org}\n    ref_protected: "true"\n`,
  Buildkite: (org, slug) => `- iss: https://agent.buildkite.com\n  scopes: [read_packages, write_packages]\n  claims:\n    organization_slug: ${org}\n    pipeline_slug: { in: [${slug}] }\n    build_branch: { matches: "release/*" }\n`,
};

async function oidcEditor(registry, body) {
  const policy = await api('GET', regPath(registry.slug, '/oidc-policy'));
  const editor = h('textarea', { id: 'oidc-policy', name: 'policy', spellcheck: 'false', 'aria-describedby': 'oidc-help' }, policy.source || '');
  const samples = h('div', { class: 'row' }, h('span', { class: 'hint' }, 'Insert a sample:'),
    Object.entries(OIDC_SAMPLES).map(([name, sample]) => h('button', {
      type: 'button', onclick: () => { editor.value = sample(org(), registry.slug); editor.focus(); },
    }, name)));
  const form = h('form', { id: 'oidc-form' }, h('label', { for: 'oidc-policy' }, 'Policy (YAML or JSON)'), samples, editor,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save policy')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    form.querySelectorAll('.field-error, .notice').forEach((el) => el.remove());
    try {
      await api('PUT', regPath(registry.slug, '/oidc-policy'), editor.value, 'application/yaml');
      form.append(notice('Policy saved.', 'ok'));
    } catch (failure) {
      editor.setAttribute('aria-invalid', 'true');
      editor.insertAdjacentElement('afterend', h('p', { class: 'field-error', role: 'alert', id: 'oidc-error' }, failure.message));
    }
  });
  body.append(h('h2', {}, 'CI with OIDC'),
    h('p', { id: 'oidc-help', class: 'muted' }, 'CI jobs sign in with their OIDC token instead of a stored secret. The first statement whose issuer and claims match gives its scopes. Request the audience ',
      h('code', {}, policy.audience), ' ', copyButton(policy.audience, 'Copy audience'), '.'),
    form);
}

// --- settings: edit, visibility, storage, teams, delete --------------------------------------------------

async function settingsTab(registry, body) {
  body.append(h('h2', {}, 'Details'), await registryForm(registry));

  const visibility = h('button', { type: 'button', id: 'toggle-public' }, registry.public ? 'Make private' : 'Make public');
  visibility.addEventListener('click', async () => {
    const making = !registry.public;
    const sure = await confirmDialog({
      title: making ? `Make ${registry.name} public?` : `Make ${registry.name} private?`, danger: making,
      confirmLabel: making ? 'Make public' : 'Make private',
      body: making
        ? ['Anyone who knows its address can list and download its packages, without a token.', 'Its registry tokens are hidden and stop counting until it is private again. Publishing still needs a token.']
        : ['Reading its packages will need a token again.', 'Its registry tokens come back and work again.'],
    });
    if (!sure) return;
    await api('PATCH', regPath(registry.slug), { public: making });
    toast(making ? 'The registry is public' : 'The registry is private');
    go(`#/r/${registry.slug}/settings`);
  });
  body.append(h('h2', {}, 'Visibility'),
    h('p', {}, registry.public ? 'Public: anyone can read its packages.' : 'Private: reading its packages needs a token.'), visibility);

  if (session.admin) {
    await registryStorage(registry, body);
    await registryTeams(registry, body);
  }

  const remove = h('button', { type: 'button', class: 'danger', id: 'delete-registry' }, 'Delete registry');
  remove.addEventListener('click', async () => {
    const sure = await confirmDialog({
      title: `Delete ${registry.name}?`, confirmLabel: 'Delete registry', typeToConfirm: registry.slug,
      body: ['Every package in it is removed, with its files in Packyard storage. Clients using it start failing at once. This cannot be undone.'],
    });
    if (!sure) return;
    await api('DELETE', regPath(registry.slug));
    toast(`Deleted ${registry.name}`);
    go('#/');
  });
  body.append(h('h2', {}, 'Delete'), remove);
}

function storageLabel(ref, links) {
  if (!ref) return 'the organization default';
  if (ref === 'hosted') return 'Packyard storage';
  const link = links.find((l) => l.id === ref.link);
  return link ? link.location : `link ${ref.link}`;
}

async function registryStorage(registry, body) {
  const { storage_links: links } = await api('GET', orgPath('/storage-links'));
  const current = registry.storage ? (registry.storage === 'hosted' ? 'hosted' : registry.storage.link) : '';
  const select = h('select', { id: 'registry-storage', name: 'storage' },
    h('option', { value: '' }, 'The organization default'), h('option', { value: 'hosted' }, 'Packyard storage'),
    links.filter((l) => l.status === 'active').map((l) => h('option', { value: l.id }, `${l.location} (${l.provider})`)));
  select.value = current;
  const form = h('form', { id: 'registry-storage-form' }, h('label', { for: 'registry-storage' }, 'Where new files go'), select,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save storage')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const storage = select.value === '' ? null : select.value === 'hosted' ? 'hosted' : { link: select.value };
    try {
      await api('PATCH', regPath(registry.slug), { storage });
      toast('Storage saved');
    } catch (failure) {
      showFailure(form, failure);
    }
  });
  body.append(h('h2', {}, 'Storage'),
    h('p', { class: 'muted' }, `Now: ${storageLabel(registry.storage, links)}. Files already stored stay where they are.`), form);
}

async function registryTeams(registry, body) {
  const { teams } = await api('GET', orgPath('/teams'));
  const rows = teams.map((team) => {
    const grant = team.registries.find((g) => g.registry === registry.slug);
    const select = h('select', { 'aria-label': `Access of ${team.name}` }, h('option', { value: '' }, 'no access'),
      ACCESS.map(([value, label]) => h('option', { value }, label)));
    select.value = grant ? grant.access : '';
    select.addEventListener('change', async () => {
      const path = orgPath(`/teams/${team.slug}/registries/${registry.slug}`);
      if (select.value) await api('PUT', path, { access: select.value }); else await api('DELETE', path);
      toast(`${team.name}: ${select.value || 'no access'}`);
    });
    return h('tr', {}, h('td', {}, team.name), h('td', {}, select));
  });
  body.append(h('h2', {}, 'Teams'),
    teams.length ? h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Team'), h('th', { scope: 'col' }, 'Access'))), h('tbody', {}, rows))
      : h('p', {}, 'No teams yet: ', h('a', { href: '#/teams' }, 'create one'), '.'));
}

// --- storage ---------------------------------------------------------------------------------------------

async function storagePage() {
  const [storage, { storage_links: links }] = await Promise.all([api('GET', orgPath('/storage')), api('GET', orgPath('/storage-links'))]);
  const defaultId = storage.default === 'hosted' ? 'hosted' : storage.default.link;
  const hosted = h('li', { class: 'card' }, h('strong', {}, 'Packyard storage'),
    defaultId === 'hosted' ? h('p', {}, h('span', { class: 'badge ok' }, 'default')) : h('p', {}, setDefaultButton('hosted', 'hosted')));
  show(h('h1', {}, 'Storage'),
    h('p', { class: 'muted', id: 'default-storage' }, `New files go to ${defaultId === 'hosted' ? 'Packyard storage' : storage.location} unless a registry chooses its own.`),
    h('ul', { class: 'cards wide', id: 'links' }, hosted, links.map((link) => linkCard(link, defaultId))),
    h('h2', {}, 'Add private storage link'), linkForm());
}

function setDefaultButton(value, id) {
  return h('button', {
    type: 'button', 'data-default': id,
    onclick: async () => {
      await api('PUT', orgPath('/storage'), { default: value });
      toast('Default storage changed');
      go('#/storage');
    },
  }, 'Make default');
}

function diagnosticView(diagnostic) {
  if (!diagnostic) return h('p', { class: 'muted' }, 'No diagnostic has run yet.');
  return h('div', { class: 'diagnostic' },
    notice(diagnostic.passed ? 'Diagnostic passed: every step below succeeded, so the link can store packages.' : 'Diagnostic failed: fix the step below and run it again.', diagnostic.passed ? 'ok' : 'bad'),
    h('ol', { class: 'steps' }, diagnostic.steps.map((step) => h('li', { class: step.passed ? 'passed' : 'failed', 'data-step': step.step },
      h('strong', {}, `${step.passed ? '✓' : '✗'} ${step.step.replace(/_/g, ' ')}`), ' ',
      step.aws_error_code ? h('code', {}, step.aws_error_code) : null,
      step.message ? h('p', {}, step.message) : null))));
}

function linkCard(link, defaultId) {
  const result = h('div', {}, diagnosticView(link.last_diagnostic));
  const run = h('button', { type: 'button', class: 'primary', 'data-diagnose': link.id }, 'Run diagnostic');
  run.addEventListener('click', async () => {
    run.disabled = true;
    run.textContent = 'Running…';
    try {
      const answer = await api('POST', orgPath(`/storage-links/${link.id}/diagnostic`));
      result.replaceChildren(diagnosticView(answer.diagnostic));
      status.textContent = answer.status;
      status.className = `badge ${answer.status === 'active' ? 'ok' : ''}`;
      if (answer.status === 'active' && defaultId !== link.id && !card.querySelector('[data-default]')) actions.prepend(setDefaultButton({ link: link.id }, link.id));
    } catch (failure) {
      result.replaceChildren(notice(failure.message, 'bad'));
    } finally {
      run.disabled = false;
      run.textContent = 'Run diagnostic';
    }
  });
  const remove = h('button', { type: 'button', class: 'danger', 'data-delete': link.id }, 'Delete');
  remove.addEventListener('click', async () => {
    if (!await confirmDialog({ title: 'Delete this storage link?', confirmLabel: 'Delete link', body: [`Packyard forgets ${link.location}; files already in it stay in the bucket.`] })) return;
    try {
      await api('DELETE', orgPath(`/storage-links/${link.id}`));
      go('#/storage');
    } catch (failure) {
      const users = /in use by (.*); /.exec(failure.message);
      result.prepend(h('div', { class: 'notice bad', role: 'alert' }, 'This link is in use:',
        users ? h('ul', { class: 'in-use' }, users[1].split(', ').map((user) => h('li', {}, user))) : ` ${failure.message}`,
        users ? 'Choose other storage for them first.' : null));
    }
  });
  const status = h('span', { class: `badge ${link.status === 'active' ? 'ok' : ''}` }, link.status);
  const actions = h('div', { class: 'actions' },
    link.status === 'active' && defaultId !== link.id ? setDefaultButton({ link: link.id }, link.id) : null, run, remove);
  const launch = link.launch_stack_url
    ? h('p', {}, h('a', { class: 'button primary', href: link.launch_stack_url, target: '_blank', rel: 'noopener noreferrer', id: `launch-${link.id}` }, 'Launch Stack ↗'),
      h('span', { class: 'hint' }, ` Opens AWS CloudFormation in account ${link.account_id} with every parameter filled in. Create the stack, come back, then run the diagnostic.`))
    : null;
  const card = h('li', { class: 'card', 'data-link': link.id },
    h('div', { class: 'row spread' }, h('strong', {}, link.location), h('span', { class: 'row' },
      defaultId === link.id ? h('span', { class: 'badge ok' }, 'default') : null, status)),
    h('p', { class: 'muted' }, link.provider === 'aws' ? `AWS · ${link.region} · role ${link.role_arn}` : `S3-compatible · ${link.endpoint} · key ${link.access_key_id}`),
    launch, result, actions);
  return card;
}

function linkForm() {
  const field = (name, label, attrs = {}) => [h('label', { for: `link-${name}` }, label), h('input', { type: 'text', name, id: `link-${name}`, ...attrs })];
  const aws = h('fieldset', { id: 'aws-fields' }, h('legend', {}, 'Your AWS bucket'),
    field('account_id', 'AWS account id', { inputmode: 'numeric', pattern: '[0-9]{12}', placeholder: '111122223333' }),
    field('region', 'Region', { placeholder: 'eu-west-1' }), field('bucket', 'Bucket'), field('path', 'Path inside the bucket', { value: '/' }),
    field('kms_key_arn', 'KMS key ARN (only for an SSE-KMS bucket)'));
  const compatible = h('fieldset', { id: 's3-fields', hidden: true }, h('legend', {}, 'Your S3-compatible service'),
    field('endpoint', 'Endpoint', { placeholder: 'https://minio.example.com' }), field('region', 'Region', { value: 'us-east-1', id: 'link-s3-region' }),
    field('bucket', 'Bucket', { id: 'link-s3-bucket' }), field('path', 'Path inside the bucket', { value: '/', id: 'link-s3-path' }),
    field('access_key_id', 'Access key id'),
    h('label', { for: 'link-secret' }, 'Secret access key ', h('span', { class: 'hint' }, '(write-only: Packyard seals it and never shows it again)')),
    h('input', { type: 'password', name: 'secret_access_key', id: 'link-secret', autocomplete: 'off' }),
    h('label', { class: 'row' }, h('input', { type: 'checkbox', name: 'path_style', checked: true }), 'Path-style addressing'));
  compatible.querySelectorAll('label').forEach((label) => {
    const input = label.nextElementSibling;
    if (input && input.id && label.htmlFor !== input.id) label.htmlFor = input.id;
  });
  const provider = h('select', { name: 'provider', id: 'link-provider' },
    h('option', { value: 'aws' }, 'AWS S3 (Launch Stack: a role Packyard assumes)'), h('option', { value: 's3_compatible' }, 'S3-compatible (MinIO, R2, Ceph: access keys)'));
  const setProvider = () => {
    const isAws = provider.value === 'aws';
    aws.hidden = !isAws;
    compatible.hidden = isAws;
    aws.disabled = !isAws;
    compatible.disabled = isAws;
  };
  provider.addEventListener('change', setProvider);
  const form = h('form', { id: 'link-form' }, h('label', { for: 'link-provider' }, 'Provider'), provider, aws, compatible,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add link')));
  setProvider();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { provider: provider.value };
    for (const [key, value] of new FormData(form)) if (key !== 'provider' && value !== '') body[key] = value;
    if (provider.value === 's3_compatible') body.path_style = !!form.querySelector('[name=path_style]').checked;
    try {
      await api('POST', orgPath('/storage-links'), body);
      toast('Link added: run its diagnostic');
      go('#/storage');
    } catch (failure) {
      showFailure(form, failure);
    }
  });
  return form;
}

// --- teams -----------------------------------------------------------------------------------------------

async function teamsPage() {
  const { teams } = await api('GET', orgPath('/teams'));
  const name = h('input', { type: 'text', name: 'name', id: 'team-name', required: true });
  const form = h('form', { id: 'create-team' }, h('label', { for: 'team-name' }, 'New team'),
    h('div', { class: 'row' }, name, h('button', { type: 'submit', class: 'primary' }, 'Create team')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', orgPath('/teams'), { name: name.value });
      go('#/teams');
    } catch (failure) {
      showFailure(form, failure);
    }
  });
  const cards = teams.map((team) => {
    const login = h('input', { type: 'text', 'aria-label': `Add a member to ${team.name}`, placeholder: 'login' });
    const add = h('form', { class: 'row' }, login, h('button', { type: 'submit' }, 'Add member'));
    add.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await api('PUT', orgPath(`/teams/${team.slug}/members/${encodeURIComponent(login.value)}`));
        go('#/teams');
      } catch (failure) {
        showFailure(add, failure);
      }
    });
    return h('li', { class: 'card' }, h('strong', {}, team.name),
      h('p', {}, 'Members: ', team.members.length ? team.members.map((m) => h('span', { class: 'badge' }, m)) : 'none'),
      h('p', {}, 'Access: ', team.registries.length ? team.registries.map((g) => h('span', { class: 'badge' }, `${g.registry}: ${g.access}`)) : 'none (grant it on a registry’s settings)'),
      add);
  });
  show(h('h1', {}, 'Teams'),
    h('p', { class: 'muted' }, 'A token issued for a member reaches a registry only as far as that member’s teams are granted.'),
    teams.length ? h('ul', { class: 'cards' }, cards) : h('p', {}, 'No teams yet.'), form);
}

// --- audit log -------------------------------------------------------------------------------------------

async function auditPage() {
  const { registries } = await api('GET', orgPath('/registries?per_page=100'));
  let events = [];
  let next = orgPath('/audit-events?per_page=50');
  const registry = h('select', { id: 'audit-registry' }, h('option', { value: '' }, 'All registries'),
    registries.map((r) => h('option', { value: r.id }, r.name)));
  const actor = h('select', { id: 'audit-actor' }, h('option', { value: '' }, 'Everyone'));
  const list = h('ol', { class: 'steps', id: 'audit' });
  const more = h('button', { type: 'button' }, 'Load older events');
  const slugs = new Map(registries.map((r) => [r.id, r.slug]));
  const concerns = (event, id) => event.target.id === id || event.target.name === slugs.get(id)
    || (event.changes.registry_id && event.changes.registry_id.after === id) || JSON.stringify(event).includes(id);
  const render = () => {
    const shown = events.filter((e) => (!registry.value || concerns(e, registry.value)) && (!actor.value || e.actor.id === actor.value));
    list.replaceChildren(...shown.map(auditItem));
    if (!shown.length) list.append(h('li', { class: 'muted' }, 'No events match.'));
  };
  const load = async () => {
    const page = await api('GET', next);
    events = events.concat(page.audit_events);
    next = page.links && page.links.next ? localPath(page.links.next) : null;
    more.hidden = !next;
    const actors = new Map(events.map((e) => [e.actor.id, e.actor.name]));
    const chosen = actor.value;
    actor.replaceChildren(h('option', { value: '' }, 'Everyone'), ...[...actors].map(([id, name]) => h('option', { value: id }, name)));
    actor.value = chosen;
    render();
  };
  registry.addEventListener('change', render);
  actor.addEventListener('change', render);
  more.addEventListener('click', load);
  show(h('h1', {}, 'Audit log'),
    h('div', { class: 'row' }, h('div', {}, h('label', { for: 'audit-registry' }, 'Registry'), registry), h('div', {}, h('label', { for: 'audit-actor' }, 'Actor'), actor)),
    h('p', { class: 'hint' }, 'Newest first. The filters apply to the events loaded.'), list, more);
  await load();
}

function auditItem(event) {
  const changes = Object.entries(event.changes);
  return h('li', { 'data-action': event.action },
    h('div', { class: 'row spread' }, h('strong', {}, event.action), formatTime(event.occurred_at)),
    h('p', {}, `${event.actor.name} → ${event.target.type} ${event.target.name}`, h('span', { class: 'hint' }, ` · ${event.source_ip} · request ${event.request_id}`)),
    changes.length ? h('div', { class: 'change' },
      h('span', { class: 'hint' }, 'field'), h('span', { class: 'hint' }, 'before'), h('span', { class: 'hint' }, 'after'),
      changes.map(([field, change]) => [h('code', {}, field),
        h('code', { class: 'before' }, JSON.stringify(change.before)), h('code', { class: 'after' }, JSON.stringify(change.after))])) : null);
}

start();
