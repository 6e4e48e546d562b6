// Packyard console: small DOM and API helpers. Every value from the API goes into the page as text, never
// as HTML. Every request sends X-Packyard-Console: 1, which the API requires of cookie-authenticated changes.

/** Builds an element: h('a', {href: '#/'}, 'text', child). `on*` attributes become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'style') el.style.cssText = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An API refusal: the envelope's code, message and field, and the HTTP status. */
export class ApiFailure extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the request failed with HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.field = error.field;
  }
}

/** Calls the REST API with the session cookie; resolves to the parsed JSON (or null for 204). */
export async function api(method, path, body, contentType = 'application/json') {
  const headers = { 'X-Packyard-Console': '1', Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = contentType;
    init.body = contentType === 'application/json' ? JSON.stringify(body) : body;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { error: { message: text } }; }
  if (!response.ok) throw new ApiFailure(response.status, json);
  return json;
}

/** The path and query of an absolute `links.next` URL, so the page follows it on its own origin. */
export function localPath(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}

let toastTimer;
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 2500);
}

/** A Copy button; `text` is a string or a function giving it at click time. */
export function copyButton(text, label = 'Copy') {
  return h('button', {
    type: 'button', class: 'quiet', 'data-copy': '',
    onclick: async () => {
      const value = typeof text === 'function' ? text() : text;
      try {
        await navigator.clipboard.writeText(value);
        toast('Copied');
      } catch {
        toast('Copy failed: select the text and copy it');
      }
    },
  }, label);
}

/** A titled block of text with its Copy button. */
export function snippet(title, text, note) {
  return h('div', { class: 'snippet' },
    h('div', { class: 'snippet-head' }, h('h3', {}, title), copyButton(() => text, `Copy ${title}`)),
    note ? h('p', { class: 'hint' }, note) : null,
    h('pre', { tabindex: '0', 'aria-label': title }, h('code', {}, text)));
}

/** A message box; `kind` is '', 'ok', 'bad' or 'warn'. Failures are announced to screen readers. */
export function notice(text, kind = '') {
  return h('div', { class: `notice ${kind}`, role: kind === 'bad' ? 'alert' : null }, text);
}

/**
 * Asks before something that cannot be undone. With `typeToConfirm`, the button stays disabled until
 * that text is typed. Resolves to true when confirmed.
 */
export function confirmDialog({ title, body, confirmLabel, typeToConfirm, danger = true }) {
  return new Promise((resolve) => {
    const input = typeToConfirm
      ? h('input', { type: 'text', id: 'confirm-input', autocomplete: 'off', spellcheck: 'false' }) : null;
    const ok = h('button', { type: 'submit', class: danger ? 'danger solid' : 'primary', disabled: !!typeToConfirm }, confirmLabel);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'confirm-title' }, title),
        [].concat(body).map((line) => h('p', {}, line)),
        input ? [h('label', { for: 'confirm-input' }, `Type ${typeToConfirm} to confirm`), input] : null,
        h('div', { class: 'actions' }, ok, cancel)));
    if (input) input.addEventListener('input', () => { ok.disabled = input.value !== typeToConfirm; });
    const finish = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); finish(false); });
    dialog.querySelector('form').addEventListener('submit', (event) => { event.preventDefault(); finish(true); });
    document.body.append(dialog);
    dialog.showModal();
    (input || cancel).focus();
  });
}

/** Shows an API failure beside the form field it names, or above the form. */
export function showFailure(form, failure) {
  form.querySelectorAll('.field-error').forEach((el) => el.remove());
  const field = failure.field && form.querySelector(`[name="${CSS.escape(failure.field)}"]`);
  const message = h('p', { class: 'field-error', role: 'alert' }, failure.message);
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.insertAdjacentElement('afterend', message);
    field.focus();
  } else {
    form.prepend(message);
  }
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatTime(text) {
  const date = new Date(text);
  return h('time', { datetime: text, title: date.toISOString() }, date.toLocaleString());
}

/** [character, shortcode, words to search by]: the picker's set, and how shortcodes are shown. */
export const EMOJI = [
  ['📦', 'package', 'box parcel'], ['🚀', 'rocket', 'launch ship'], ['🐍', 'snake', 'python'], ['🦀', 'crab', 'rust cargo'],
  ['🐳', 'whale', 'docker container oci'], ['🐋', 'whale2', 'docker'], ['☕', 'coffee', 'java maven'], ['💎', 'gem', 'ruby'],
  ['🌐', 'globe_with_meridians', 'web internet'], ['⚛️', 'atom_symbol', 'react'], ['🔧', 'wrench', 'tool'], ['🛠️', 'hammer_and_wrench', 'tools build'],
  ['🧪', 'test_tube', 'test lab experiment'], ['🔒', 'lock', 'private secure'], ['🔑', 'key', 'secret'], ['🏗️', 'building_construction', 'build'],
  ['📚', 'books', 'library docs'], ['📘', 'blue_book', 'docs'], ['🧩', 'jigsaw', 'plugin puzzle'], ['⚙️', 'gear', 'settings config'],
  ['🎯', 'dart', 'target'], ['🔥', 'fire', 'hot'], ['✨', 'sparkles', 'new shiny'], ['⭐', 'star', 'favorite'],
  ['🌟', 'star2', 'glow'], ['💡', 'bulb', 'idea'], ['🧠', 'brain', 'ml ai'], ['🤖', 'robot', 'bot ai'],
  ['📱', 'iphone', 'mobile phone'], ['💻', 'computer', 'laptop'], ['🖥️', 'desktop_computer', 'desktop'], ['🗄️', 'file_cabinet', 'storage'],
  ['💾', 'floppy_disk', 'save'], ['📁', 'file_folder', 'files folder'], ['🗂️', 'card_index_dividers', 'files'], ['📜', 'scroll', 'script'],
  ['🧰', 'toolbox', 'tools'], ['🔌', 'electric_plug', 'plugin'], ['🛡️', 'shield', 'security'], ['🧱', 'bricks', 'blocks'],
  ['🏠', 'house', 'home'], ['🏭', 'factory', 'production'], ['🚢', 'ship', 'release'], ['🛰️', 'satellite', 'space'],
  ['🌍', 'earth_africa', 'world'], ['🌈', 'rainbow', 'color'], ['☁️', 'cloud', 'aws'], ['⚡', 'zap', 'fast lightning'],
  ['🐙', 'octopus', 'github'], ['🦊', 'fox_face', 'gitlab'], ['🐧', 'penguin', 'linux debian'], ['🎩', 'tophat', 'redhat rpm'],
  ['🍎', 'apple', 'mac'], ['🪟', 'window', 'windows'], ['🐘', 'elephant', 'php postgres'], ['🐹', 'hamster', 'go'],
  ['🦄', 'unicorn', 'magic'], ['🐝', 'bee', 'busy'], ['🐢', 'turtle', 'slow'], ['🦉', 'owl', 'wise'],
  ['🌲', 'evergreen_tree', 'tree'], ['🌵', 'cactus', 'desert'], ['🍀', 'four_leaf_clover', 'luck'], ['🌻', 'sunflower', 'flower'],
  ['🍕', 'pizza', 'food'], ['🍩', 'doughnut', 'donut'], ['🎨', 'art', 'design palette'], ['🎮', 'video_game', 'game'],
  ['🎵', 'musical_note', 'music'], ['📊', 'bar_chart', 'data stats'], ['📈', 'chart_with_upwards_trend', 'growth'], ['🧮', 'abacus', 'math'],
  ['🔬', 'microscope', 'science'], ['🔭', 'telescope', 'observe'], ['🧬', 'dna', 'bio'], ['💊', 'pill', 'health'],
  ['💰', 'moneybag', 'finance'], ['🏦', 'bank', 'finance'], ['🛒', 'shopping_cart', 'shop'], ['📮', 'postbox', 'mail'],
  ['📣', 'mega', 'announce'], ['🔔', 'bell', 'notify'], ['🧭', 'compass', 'navigate'], ['🗺️', 'world_map', 'map'],
  ['✅', 'white_check_mark', 'done ok'], ['❗', 'exclamation', 'important'], ['🚧', 'construction', 'wip'], ['🧹', 'broom', 'clean'],
  ['🏷️', 'label', 'tag release'], ['🔖', 'bookmark', 'tag'], ['🪐', 'ringed_planet', 'planet'], ['🌙', 'crescent_moon', 'night'],
];

/** The character for a stored emoji (a `:shortcode:` or the character itself). */
export function emojiChar(value) {
  if (!value) return '';
  const match = /^:(.+):$/.exec(value);
  if (!match) return value;
  const found = EMOJI.find(([, code]) => code === match[1]);
  return found ? found[0] : value;
}
