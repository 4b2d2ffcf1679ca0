import { get, follow, history, path } from '../api.js';
import { h, replace, setRowsProgressively, swapRowsInPlace } from '../dom.js';
import { actionPanel } from './actions.js';
import { stateOf } from '../states.js';

const timelineLength = 200;
const windowSize = 200;
const renderEveryMs = 250;
const rowsPerFrame = 20;

/**
 * One service: every instance with its state, filters by state, zone, version and metadata key=value, actions, and
 * a live timeline. It follows the watch stream from the snapshot's revision, so a change made anywhere shows within
 * a moment, and after a disconnection it resumes from the last revision it applied. Changes are applied to the
 * model as they arrive; the table is redrawn at most every 250 ms and at most 200 rows at a time, so a busy
 * service with thousands of instances never blocks the page.
 */
export function service(view, { namespace, service: name, signal, setCrumbs, setConnection, fail }) {
  setCrumbs([{ text: namespace, href: `#/ns/${path(namespace)}` }, { text: name }]);
  const instances = new Map();
  const leases = new Map();
  const timeline = [];
  let revision = null;

  const filters = {
    state: h('select', { id: 'filter-state', 'aria-label': 'State' },
      ['', 'up', 'drained', 'disabled', 'weight 0'].map(s => h('option', { value: s }, s || 'any state'))),
    zone: h('input', { id: 'filter-zone', placeholder: 'zone', 'aria-label': 'Zone' }),
    version: h('input', { id: 'filter-version', placeholder: 'version', 'aria-label': 'Version' }),
    metadata: h('input', { id: 'filter-metadata', placeholder: 'metadata key=value', 'aria-label': 'Metadata key=value' }),
  };
  const summary = h('span', { class: 'muted', id: 'instance-count' });
  const rows = h('tbody');
  const events = h('ol', { id: 'timeline', class: 'timeline' });
  const revisionLabel = h('span', { id: 'revision', class: 'mono' });
  const actions = actionPanel({ namespace, service: name, instances: () => instances.values() });
  const subscribers = h('div', { id: 'subscribers' });
  replace(view,
    h('h1', null, h('span', { class: 'mono' }, name), ' ', h('span', { class: 'muted small' }, 'revision ', revisionLabel)),
    h('div', { class: 'toolbar' }, Object.values(filters), summary),
    actions.element,
    h('div', { class: 'scroll' }, h('table', { id: 'instances' },
      h('colgroup', null, ['id', 'address', 'zone', 'version', 'weight', 'state', 'kind', 'lease', 'incarnation', 'metadata', 'actions']
        .map(c => h('col', { class: `col-${c}` }))),
      h('thead', null, h('tr', null, ['Id', 'Address', 'Zone', 'Version', 'Weight', 'State', 'Kind', 'Lease', 'Incarnation', 'Metadata', 'Actions']
        .map(t => h('th', null, t)))),
      rows)),
    h('div', { class: 'columns' },
      h('section', null, h('h2', null, 'Recent changes'), events),
      h('section', null, h('h2', null, 'Subscribers on this node'), subscribers)));

  let timer = null;
  let lastRender = 0;
  const schedule = () => {
    if (timer !== null) return;
    const wait = Math.max(0, lastRender + renderEveryMs - performance.now());
    timer = setTimeout(() => requestAnimationFrame(() => { timer = null; render(); }), wait);
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  for (const input of Object.values(filters)) input.addEventListener('input', schedule);

  // The filters as one predicate, read from the inputs once per render rather than once per instance.
  const currentFilter = () => {
    const state = filters.state.value, zone = filters.zone.value.trim(), version = filters.version.value.trim();
    const metadata = filters.metadata.value.trim();
    const at = metadata.indexOf('=');
    const key = at < 0 ? metadata : metadata.slice(0, at);
    const value = at < 0 ? null : metadata.slice(at + 1);
    if (!state && !zone && !version && !metadata) return null;
    return instance =>
      (!state || stateOf(instance) === state)
      && (!zone || instance.zone === zone)
      && (!version || instance.version === version)
      && (!metadata || (Object.hasOwn(instance.metadata ?? {}, key) && (value === null || String(instance.metadata[key]) === value)));
  };

  // Ids in order, sorted again only when an instance comes or goes (an update keeps its place).
  let sortedIds = [];
  let idsChanged = true;
  // Each instance's row, kept while the instance object is the same (an upsert brings a new object).
  const rowCache = new Map();

  const render = () => {
    lastRender = performance.now();
    revisionLabel.textContent = revision ?? '';
    view.dataset.revision = revision ?? '';
    if (idsChanged) {
      sortedIds = [...instances.keys()].sort();
      idsChanged = false;
    }
    const shown = [];
    const matches = currentFilter();
    let matching = 0;
    for (const id of sortedIds) {
      const instance = instances.get(id);
      if (matches && !matches(instance)) continue;
      matching++;
      if (shown.length < windowSize) shown.push(instance);
    }
    summary.textContent = matching > windowSize
      ? `${matching} of ${instances.size} instances (the first ${windowSize} shown: narrow the filters to see the others)`
      : `${matching} of ${instances.size} instances`;

    const wanted = shown.map(instance => {
      let cached = rowCache.get(instance.id);
      if (cached?.instance !== instance) {
        cached = { instance, ...instanceRow(instance, actions.propose) };
        rowCache.set(instance.id, cached);
      }
      const text = leaseText(instance, leases.get(instance.id));
      if (cached.leaseCell.textContent !== text) cached.leaseCell.textContent = text;
      return cached.row;
    });
    for (const id of rowCache.keys()) if (!instances.has(id)) rowCache.delete(id);
    // Changed rows are swapped, and when instances came, went or the filters changed the rows are laid down again;
    // either way 20 rows per frame (laying out 200 rows at once blocks the page for a quarter of a second).
    if (!swapRowsInPlace(rows, wanted, rowsPerFrame)) setRowsProgressively(rows, wanted.length, i => wanted[i], rowsPerFrame);

    if (timeline.length === 0) events.replaceChildren(h('li', { class: 'muted' }, 'No change yet.'));
    else if (timelineChanged) {
      timelineChanged = false;
      // Each entry's element is made once: a busy service adds a few entries per redraw, not 200.
      events.replaceChildren(...timeline.map(e => (e.element ??= timelineEntry(e))));
    }
  };

  // Redrawn only when an entry came.
  let timelineChanged = true;
  const record = (revisionOfChange, text, time) => {
    timeline.unshift({ revision: revisionOfChange, time: time ? new Date(time) : new Date(), text });
    if (timeline.length > timelineLength) timeline.length = timelineLength;
    timelineChanged = true;
  };

  const onFrame = ({ event, data }) => {
    if (event === 'reset') {
      instances.clear();
      idsChanged = true;
      for (const s of data.services ?? []) {
        if (s.name !== name) continue;
        for (const instance of s.instances) instances.set(instance.id, instance);
      }
      record(data.revision, `list replaced (${instances.size} instances)`);
    } else if (event === 'upsert') {
      const before = instances.get(data.instance.id);
      if (!before) idsChanged = true;
      instances.set(data.instance.id, data.instance);
      record(data.revision, describeUpsert(before, data.instance), data.time);
    } else if (event === 'delete') {
      if (instances.delete(data.id)) idsChanged = true;
      record(data.revision, `${data.id} ${data.reason}`, data.time);
    }
    revision = data.revision;
    schedule();
  };

  // Lease timings only for the rows on screen: a service of thousands costs the page nothing more.
  const refreshLeases = async () => {
    const shownIds = [...rows.children].map(row => row.dataset.instance).filter(Boolean);
    if (shownIds.length === 0) return;
    try {
      const query = new URLSearchParams(shownIds.map(id => ['id', id]));
      const answer = await get(`/namespaces/${path(namespace)}/services/${path(name)}/leases?${query}`, signal);
      leases.clear();
      for (const lease of answer.leases) leases.set(lease.id, lease);
      schedule();
    } catch (error) {
      // Lease timings are a detail: the list itself stays live without them.
    }
  };

  // The service's changes from before the page opened (up to 5,000 revisions back, as far as the node's history
  // reaches), put under the live ones, each with the time the node accepted it (unknown, shown as "earlier", for
  // changes a node wrote before its log carried times).
  const loadHistory = async through => {
    const earlier = await history({ namespace, services: [name], after: Math.max(0, through - 5000), through, signal });
    const known = new Map();
    const entries = [];
    for (const { event, data } of earlier) {
      if (event === 'upsert') {
        entries.push({ revision: data.revision, time: timeOf(data), text: describeUpsert(known.get(data.instance.id), data.instance) });
        known.set(data.instance.id, data.instance);
      } else if (event === 'delete') {
        entries.push({ revision: data.revision, time: timeOf(data), text: `${data.id} ${data.reason}` });
        known.delete(data.id);
      }
    }
    timeline.push(...entries.reverse());
    if (timeline.length > timelineLength) timeline.length = timelineLength;
    timelineChanged = true;
    schedule();
  };

  const refreshSubscribers = async () => {
    try {
      const answer = await get(`/namespaces/${path(namespace)}/services/${path(name)}/watchers`, signal);
      replace(subscribers, subscriberTable(answer.watchers));
    } catch (error) {
      if (!signal.aborted) replace(subscribers, h('p', { class: 'muted' }, `Not available: ${error.message}`));
    }
  };

  (async () => {
    try {
      const snapshot = await get(`/namespaces/${path(namespace)}/services/${path(name)}`, signal);
      performance.mark('roster:snapshot-parsed');
      for (const instance of snapshot.instances) instances.set(instance.id, instance);
      revision = snapshot.revision;
      render();
      performance.mark('roster:first-render');
      // The rows are painted first; what only adds detail is asked for after that frame, so reading thousands of
      // earlier changes never delays the list.
      requestAnimationFrame(() => setTimeout(() => {
        if (signal.aborted) return;
        refreshSubscribers();
        refreshLeases();
        loadHistory(snapshot.revision);
      }, 0));
      const subscribersTimer = setInterval(refreshSubscribers, 5000);
      const leasesTimer = setInterval(refreshLeases, 2000);
      signal.addEventListener('abort', () => { clearInterval(subscribersTimer); clearInterval(leasesTimer); }, { once: true });
      await follow({
        namespace, services: [name], since: snapshot.revision, onFrame, signal,
        onState: (state, error) => {
          setConnection(state);
          if (state === 'live') refreshSubscribers();
          if (state === 'refused') fail(error);
        },
      });
    } catch (error) {
      if (!signal.aborted) fail(error);
    }
  })();
}

function timelineEntry({ revision: at, time, text }) {
  return h('li', { 'data-revision': at },
    h('span', { class: 'mono' }, at), ' ',
    time ? h('time', { datetime: time.toISOString(), title: time.toLocaleString() }, time.toLocaleTimeString()) : h('span', { class: 'muted' }, 'earlier'),
    ' ', text);
}

const timeOf = change => (change.time ? new Date(change.time) : null);

function describeUpsert(before, after) {
  if (!before) return `${after.id} registered at ${after.address}:${after.port}`;
  const changes = [];
  if (before.drained !== after.drained) changes.push(after.drained ? 'drained' : 'undrained');
  if (before.disabled !== after.disabled) changes.push(after.disabled ? 'disabled' : 'enabled');
  if (before.effectiveWeight !== after.effectiveWeight) changes.push(`weight ${before.effectiveWeight} → ${after.effectiveWeight}`);
  if (before.incarnation !== after.incarnation) changes.push(`new incarnation ${after.incarnation}`);
  return `${after.id} ${changes.length ? changes.join(', ') : 'updated'}`;
}

function leaseText(instance, lease) {
  if (instance.persistent) return 'none (persistent)';
  if (!lease || lease.incarnation !== instance.incarnation) return '…';
  if (lease.heldHere) return `expires in ${lease.expiresInSeconds} s (renewed ${lease.renewedSecondsAgo} s ago)`;
  return lease.owner ? `held by node ${lease.owner}` : 'held by another node';
}

/** A row for an instance, and its lease cell (updated in place as lease timings refresh). */
function instanceRow(instance, propose) {
  const state = stateOf(instance);
  const weight = instance.weightOverride !== null && instance.weightOverride !== undefined
    ? `${instance.effectiveWeight} (override ${instance.weightOverride}, registered ${instance.weight})`
    : `${instance.effectiveWeight}`;
  const button = (action, label) => h('button', { type: 'button', class: 'small', 'data-action': action, onclick: () => propose(action, instance) }, label);
  const leaseCell = h('td', { 'data-field': 'lease' });
  const row = h('tr', { 'data-instance': instance.id, 'data-state': state },
    h('td', { class: 'mono', 'data-field': 'id' }, instance.id),
    h('td', { class: 'mono', 'data-field': 'address' }, `${instance.address}:${instance.port}`),
    h('td', { 'data-field': 'zone' }, instance.zone),
    h('td', { 'data-field': 'version' }, instance.version),
    h('td', { class: 'num', 'data-field': 'weight' }, weight),
    h('td', { 'data-field': 'state' }, h('span', { class: `badge state-${state.replace(' ', '')}` }, state)),
    h('td', { 'data-field': 'kind' }, instance.persistent ? 'persistent' : `leased, TTL ${instance.ttlSeconds} s`),
    leaseCell,
    h('td', { class: 'num', 'data-field': 'incarnation' }, instance.incarnation),
    h('td', { 'data-field': 'metadata' }, Object.entries(instance.metadata ?? {}).map(([key, value]) =>
      h('span', { class: 'tag' }, h('span', { class: 'key' }, key), '=', h('span', { class: 'value' }, String(value))))),
    h('td', { class: 'actions' },
      instance.drained ? button('undrain', 'Undrain') : button('drain', 'Drain'),
      instance.disabled ? button('enable', 'Enable') : button('disable', 'Disable'),
      button('weight', 'Weight…'),
      button('deregister', 'Deregister')));
  return { row, leaseCell };
}

function subscriberTable(watchers) {
  if (watchers.length === 0) return h('p', { class: 'muted', id: 'no-subscribers' }, 'No watcher of this service is connected to this node.');
  return h('table', { id: 'subscriber-table' },
    h('thead', null, h('tr', null, ['Remote address', 'User agent', 'Since', 'Last revision sent', 'Watches'].map(t => h('th', null, t)))),
    h('tbody', null, watchers.map(w => h('tr', null,
      h('td', { class: 'mono', 'data-field': 'remote' }, w.remoteAddress),
      h('td', { 'data-field': 'userAgent' }, w.userAgent),
      h('td', null, new Date(w.since).toLocaleString()),
      h('td', { class: 'num', 'data-field': 'lastRevision' }, w.lastRevision),
      h('td', null, w.services.length ? w.services.join(', ') : 'the whole namespace')))));
}
