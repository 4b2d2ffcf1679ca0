import { get, follow, path } from '../api.js';
import { h, replace, setRowsProgressively, swapRowsInPlace } from '../dom.js';

/**
 * The services of a namespace, sorted by name, with counts by state, sequence, digest and watchers on this node;
 * a text filter. It follows the namespace's watch stream and reads the list again when a change arrives (at most
 * twice a second however busy the namespace), so a change shows within a second and an idle namespace costs
 * nothing; watcher counts, which change without a registry change, are read again every 10 s.
 */
export function services(view, { namespace, signal, setCrumbs, setConnection, fail }) {
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

  let shownWatchers = '';
  const refresh = async () => {
    const answer = await get(`/namespaces/${path(namespace)}/services`, signal);
    list = [...answer.services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const watchers = list.map(s => s.watchers).join();
    if (answer.revision !== shownRevision || watchers !== shownWatchers) {
      shownRevision = answer.revision;
      shownWatchers = watchers;
      view.dataset.revision = answer.revision;
      render();
    }
    return answer.revision;
  };

  // One read at a time; a change that arrives during a read asks for one more after it, no sooner than half a
  // second after the last one began.
  let reading = null;
  let again = false;
  let lastRead = 0;
  const refreshSoon = () => {
    if (reading) { again = true; return; }
    reading = new Promise(resolve => setTimeout(resolve, Math.max(0, lastRead + 500 - performance.now())))
      .then(() => { lastRead = performance.now(); return signal.aborted ? null : refresh(); })
      .catch(error => { if (!signal.aborted) fail(error); })
      .finally(() => {
        reading = null;
        if (again && !signal.aborted) { again = false; refreshSoon(); }
      });
  };

  (async () => {
    try {
      lastRead = performance.now();
      const revision = await refresh();
      const timer = setInterval(refreshSoon, 10_000);
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
      await follow({
        namespace, since: revision, signal,
        onFrame: refreshSoon,
        onState: (state, error) => {
          setConnection(state);
          if (state === 'live') refreshSoon();
          if (state === 'refused') fail(error);
        },
      });
    } catch (error) {
      if (!signal.aborted) fail(error);
    }
  })();
}
