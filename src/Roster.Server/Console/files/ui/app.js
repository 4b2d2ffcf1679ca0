import { ApiError, token } from './api.js';
import { h, replace } from './dom.js';
import { overview } from './views/overview.js';
import { services } from './views/services.js';
import { service } from './views/service.js';

// Routes live in the fragment (#/ns/prod/svc/orders), so every page is the same index.html and a reload keeps it.
const routes = [
  { pattern: /^#?\/?$/, show: overview },
  { pattern: /^#\/ns\/([^/]+)$/, show: services, names: ['namespace'] },
  { pattern: /^#\/ns\/([^/]+)\/svc\/([^/]+)$/, show: service, names: ['namespace', 'service'] },
];

const view = document.getElementById('view');
const crumbs = document.getElementById('crumbs');
const connection = document.getElementById('connection');
let current = null;

function setCrumbs(items) {
  replace(crumbs, items.map(item => [h('span', { class: 'sep' }, '/'), item.href ? h('a', { href: item.href }, item.text) : h('span', null, item.text)]));
}

function setConnection(state) {
  connection.textContent = state === 'live' ? 'live' : state === 'disconnected' ? 'disconnected: reconnecting…' : '';
  connection.className = `connection ${state}`;
  connection.dataset.state = state;
}

/** An error the page cannot recover from by itself: a refused token asks for another, anything else is shown. */
function fail(error) {
  if (error instanceof ApiError && error.status === 401) {
    askForToken(token.get() ? 'The token was not accepted.' : 'This registry needs a token.');
    return;
  }
  const message = error instanceof ApiError && error.status === 403
    ? `Not allowed (403): ${error.message}`
    : `${error instanceof ApiError ? `HTTP ${error.status}: ` : ''}${error.message}`;
  replace(view, h('div', { class: 'error', role: 'alert', id: 'error' }, message));
}

function askForToken(reason) {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', 'aria-label': 'Token' });
  const form = h('form', { id: 'token-form', class: 'card wide' },
    h('p', null, reason, ' It stays in this tab only (session storage).'),
    input, ' ', h('button', { type: 'submit' }, 'Use token'));
  form.addEventListener('submit', event => {
    event.preventDefault();
    token.set(input.value.trim());
    show();
  });
  replace(view, form);
  input.focus();
}

function show() {
  current?.abort();
  current = new AbortController();
  setConnection('');
  const hash = location.hash || '#/';
  for (const route of routes) {
    const match = route.pattern.exec(hash);
    if (!match) continue;
    const parameters = Object.fromEntries((route.names ?? []).map((name, i) => [name, decodeURIComponent(match[i + 1])]));
    replace(view, h('p', { class: 'muted' }, 'Loading…'));
    route.show(view, { ...parameters, signal: current.signal, setCrumbs, setConnection, fail });
    return;
  }
  replace(view, h('div', { class: 'error', role: 'alert' }, 'No such page.'));
}

const signOut = h('button', { id: 'sign-out', class: 'link', type: 'button', hidden: !token.get() }, 'Forget token');
signOut.addEventListener('click', () => { token.set(null); signOut.hidden = true; show(); });
document.querySelector('header.bar').append(signOut);
window.addEventListener('hashchange', show);
show();
