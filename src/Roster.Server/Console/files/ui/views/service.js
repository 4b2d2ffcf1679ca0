import { get, follow, path } from '../api.js';
import { h, replace } from '../dom.js';
import { actionPanel } from './actions.js';

const timelineLength = 200;
const windowSize = 500;
const renderEveryMs = 250;

/** The state an operator sees: disabled, else drained, else weight 0, else up (takes traffic). */
export function stateOf(instance) {
  if (instance.disabled) return 'disabled';
  if (instance.drained) return 'drained';
  if (instance.effectiveWeight === 0) return 'weight 0';
  return 'up';
}

/**
 * One service: every instance with its state, filters by state, zone, version and metadata key=value, actions, and
 * a live timeline. It follows the watch stream from the snapshot's revision, so a change made anywhere shows within
 * a moment, and after a disconnection it resumes from the last revision it applied. Changes are applied to the
 * model as they arrive; the table is redrawn at most every 250 ms and at most 500 rows at a time, so a busy
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
  const actions = actionPanel({ namespace, service: name, instances: () => instances.values(), stateOf });
  const subscribers = h('div', { id: 'subscribers' });
  replace(view,
    h('h1', null, h('span', { class: 'mono' }, name), ' ', h('span', { class: 'muted small' }, 'revision ', revisionLabel)),
    h('div', { class: 'toolbar' }, Object.values(filters), summary),
    actions.element,
    h('div', { class: 'scroll' }, h('table', { id: 'instances' },
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

  const matches = instance => {
    const zone = filters.zone.value.trim(), version = filters.version.value.trim(), metadata = filters.metadata.value.trim();
    if (filters.state.value && stateOf(instance) !== filters.state.value) return false;
    if (zone && instance.zone !== zone) return false;
    if (version && instance.version !== version) return false;
    if (metadata) {
      const at = metadata.indexOf('=');
      const key = at < 0 ? metadata : metadata.slice(0, at);
      if (!Object.hasOwn(instance.metadata ?? {}, key)) return false;
      if (at >= 0 && String(instance.metadata[key]) !== metadata.slice(at + 1)) return false;
    }
    return true;
  };

  const render = () => {
    lastRender = performance.now();
    revisionLabel.textContent = revision ?? '';
    view.dataset.revision = revision ?? '';
    const all = [...instances.values()];
    const shown = all.filter(matches).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    summary.textContent = shown.length > windowSize
      ? `${shown.length} of ${all.length} instances (the first ${windowSize} shown: narrow the filters to see the others)`
      : `${shown.length} of ${all.length} instances`;
    rows.replaceChildren(...shown.slice(0, windowSize).map(instance => instanceRow(instance, leases.get(instance.id), actions.propose)));
    if (timeline.length === 0) events.replaceChildren(h('li', { class: 'muted' }, 'No change since this page opened.'));
    else events.replaceChildren(...timeline.map(e => h('li', null,
      h('span', { class: 'mono' }, e.revision), ' ', h('time', null, e.time.toLocaleTimeString()), ' ', e.text)));
  };

  const record = (revisionOfChange, text) => {
    timeline.unshift({ revision: revisionOfChange, time: new Date(), text });
    if (timeline.length > timelineLength) timeline.length = timelineLength;
  };

  const onFrame = ({ event, data }) => {
    if (event === 'reset') {
      instances.clear();
      for (const s of data.services ?? []) {
        if (s.name !== name) continue;
        for (const instance of s.instances) instances.set(instance.id, instance);
      }
      record(data.revision, `list replaced (${instances.size} instances)`);
    } else if (event === 'upsert') {
      const before = instances.get(data.instance.id);
      instances.set(data.instance.id, data.instance);
      record(data.revision, describeUpsert(before, data.instance));
    } else if (event === 'delete') {
      instances.delete(data.id);
      record(data.revision, `${data.id} ${data.reason}`);
    }
    revision = data.revision;
    schedule();
  };

  const refreshLeases = async () => {
    try {
      const answer = await get(`/namespaces/${path(namespace)}/services/${path(name)}/leases`, signal);
      leases.clear();
      for (const lease of answer.leases) leases.set(lease.id, { ...lease, thisNode: answer.nodeId });
      schedule();
    } catch (error) {
      // Lease timings are a detail: the list itself stays live without them.
    }
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
      for (const instance of snapshot.instances) instances.set(instance.id, instance);
      revision = snapshot.revision;
      render();
      refreshSubscribers();
      refreshLeases();
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

function instanceRow(instance, lease, propose) {
  const state = stateOf(instance);
  const weight = instance.weightOverride !== null && instance.weightOverride !== undefined
    ? `${instance.effectiveWeight} (override ${instance.weightOverride}, registered ${instance.weight})`
    : `${instance.effectiveWeight}`;
  const button = (action, label) => h('button', { type: 'button', class: 'small', 'data-action': action, onclick: () => propose(action, instance) }, label);
  return h('tr', { 'data-instance': instance.id, 'data-state': state },
    h('td', { class: 'mono', 'data-field': 'id' }, instance.id),
    h('td', { class: 'mono', 'data-field': 'address' }, `${instance.address}:${instance.port}`),
    h('td', { 'data-field': 'zone' }, instance.zone),
    h('td', { 'data-field': 'version' }, instance.version),
    h('td', { class: 'num', 'data-field': 'weight' }, weight),
    h('td', { 'data-field': 'state' }, h('span', { class: `badge state-${state.replace(' ', '')}` }, state)),
    h('td', { 'data-field': 'kind' }, instance.persistent ? 'persistent' : `leased, TTL ${instance.ttlSeconds} s`),
    h('td', { 'data-field': 'lease' }, leaseText(instance, lease)),
    h('td', { class: 'num', 'data-field': 'incarnation' }, instance.incarnation),
    h('td', { 'data-field': 'metadata' }, h('dl', { class: 'metadata' },
      Object.entries(instance.metadata ?? {}).map(([key, value]) => [h('dt', null, key), h('dd', null, String(value))]))),
    h('td', { class: 'actions' },
      instance.drained ? button('undrain', 'Undrain') : button('drain', 'Drain'),
      instance.disabled ? button('enable', 'Enable') : button('disable', 'Disable'),
      button('weight', 'Weight…'),
      button('deregister', 'Deregister')));
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
