import { get, path } from '../api.js';
import { h, replace, setRowsProgressively, swapRowsInPlace } from '../dom.js';

/**
 * The services of a namespace, sorted by name, with counts by state, sequence, digest and watchers on this node;
 * a text filter. Refreshes every 2 s, and re-renders only when the registry's revision moved or the filter changed.
 */
export function services(view, { namespace, signal, setCrumbs, fail }) {
  setCrumbs([{ text: namespace }]);
  const filter = h('input', { type: 'search', id: 'service-filter', placeholder: 'Filter services', 'aria-label': 'Filter services' });
  const count = h('span', { class: 'muted', id: 'service-count' });
  const body = h('tbody');
  replace(view,
    h('h1', null, 'Services in ', h('span', { class: 'mono' }, namespace)),
    h('div', { class: 'toolbar' }, filter, count),
    h('table', { id: 'services' },
      h('thead', null, h('tr', null, ['Service', 'Up', 'Drained', 'Disabled', 'Weight 0', 'Sequence', 'Digest', 'Watchers']
        .map((t, i) => h('th', { class: i > 0 && i !== 6 ? 'num' : null }, t)))),
      body));

  let list = [];
  let shownRevision = -1;
  // Each service's row, kept while its sequence and watcher count are unchanged: a refresh after one change
  // swaps one row, and filtering only hides rows, so 2,000 services never make the page rebuild its table.
  const rowCache = new Map();
  const rowOf = s => {
    const cached = rowCache.get(s.name);
    if (cached && cached.sequence === s.sequence && cached.watchers === s.watchers) return cached.row;
    const row = h('tr', { 'data-service': s.name },
      h('td', null, h('a', { href: `#/ns/${path(namespace)}/svc/${path(s.name)}` }, s.name)),
      h('td', { class: 'num state-up', 'data-field': 'up' }, s.states.up),
      h('td', { class: 'num state-drained', 'data-field': 'drained' }, s.states.drained),
      h('td', { class: 'num state-disabled', 'data-field': 'disabled' }, s.states.disabled),
      h('td', { class: 'num state-weightZero', 'data-field': 'weightZero' }, s.states.weightZero),
      h('td', { class: 'num', 'data-field': 'sequence' }, s.sequence),
      h('td', { class: 'mono', 'data-field': 'digest' }, s.digest),
      h('td', { class: 'num', 'data-field': 'watchers' }, s.watchers));
    rowCache.set(s.name, { sequence: s.sequence, watchers: s.watchers, row });
    return row;
  };

  // Matching rows only are in the table (hiding 2,000 rows costs as much layout as drawing them); a long list is
  // put in a chunk per frame.
  let laidOut = [];
  const render = () => {
    const text = filter.value.trim().toLowerCase();
    const names = new Set(list.map(s => s.name));
    for (const name of rowCache.keys()) if (!names.has(name)) rowCache.delete(name);
    const matching = list.filter(s => !text || s.name.includes(text));
    count.textContent = `${matching.length} of ${list.length} services`;
    // A refresh after a few changes swaps the changed rows in place; anything else lays the rows down again.
    const sameServices = laidOut.length === matching.length && matching.every((s, i) => laidOut[i] === s.name);
    if (!(sameServices && swapRowsInPlace(body, matching.map(rowOf)))) setRowsProgressively(body, matching.length, i => rowOf(matching[i]));
    laidOut = matching.map(s => s.name);
  };
  let filterTimer = null;
  filter.addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => requestAnimationFrame(render), 100);
  });

  const refresh = async () => {
    try {
      const answer = await get(`/namespaces/${path(namespace)}/services`, signal);
      list = [...answer.services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (answer.revision !== shownRevision) {
        shownRevision = answer.revision;
        view.dataset.revision = answer.revision;
        render();
      }
    } catch (error) {
      if (!signal.aborted) fail(error);
    }
  };
  refresh();
  const timer = setInterval(refresh, 2000);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
