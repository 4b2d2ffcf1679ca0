import { get } from '../api.js';
import { h, replace, formatDuration } from '../dom.js';

const states = ['up', 'drained', 'disabled', 'weightZero'];
const stateNames = { up: 'up', drained: 'drained', disabled: 'disabled', weightZero: 'weight 0' };

/** The node's status, every namespace with its counts by state, and with a cluster every node. Refreshes every 2 s. */
export function overview(view, { signal, setCrumbs, fail }) {
  setCrumbs([]);
  const refresh = async () => {
    try {
      const [status, namespaces] = await Promise.all([get('/status', signal), get('/namespaces', signal)]);
      const cluster = status.bus ? await get('/cluster', signal) : null;
      replace(view,
        h('h1', null, 'Overview'),
        nodeCard(status),
        cluster && clusterTable(cluster),
        h('h2', null, 'Namespaces'),
        namespaceTable(namespaces.namespaces));
    } catch (error) {
      if (!signal.aborted) fail(error);
    }
  };
  refresh();
  const timer = setInterval(refresh, 2000);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

function nodeCard(status) {
  return h('section', { class: 'cards', id: 'node-status' },
    card('Status', status.status, { 'data-field': 'status', class: `status-${status.status}` }),
    card('Ready', status.ready ? 'yes' : 'no', { 'data-field': 'ready' }),
    card('Revision', status.revision, { 'data-field': 'revision' }),
    card('Uptime', formatDuration(status.uptimeSeconds ?? 0), { 'data-field': 'uptime' }),
    card('Instances', status.instances, { 'data-field': 'instances' }),
    card('Watchers', status.watchers, { 'data-field': 'watchers' }),
    card('Storage', status.storage, { 'data-field': 'storage' }),
    status.selfPreservation && card('Self-preservation', 'on', { class: 'warn' }));
}

function card(label, value, attributes) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { ...attributes, class: `value ${attributes?.class ?? ''}` }, value));
}

function namespaceTable(namespaces) {
  if (namespaces.length === 0) return h('p', { class: 'empty' }, 'No namespace yet: register an instance to create one.');
  return h('table', { id: 'namespaces' },
    h('thead', null, h('tr', null, h('th', null, 'Namespace'), h('th', { class: 'num' }, 'Services'), h('th', { class: 'num' }, 'Instances'),
      states.map(s => h('th', { class: 'num' }, stateNames[s])), h('th', null, 'Self-preservation'))),
    h('tbody', null, namespaces.map(ns => h('tr', { 'data-namespace': ns.name },
      h('td', null, h('a', { href: `#/ns/${encodeURIComponent(ns.name)}` }, ns.name)),
      h('td', { class: 'num', 'data-field': 'services' }, ns.services),
      h('td', { class: 'num', 'data-field': 'instances' }, ns.instances),
      states.map(s => h('td', { class: `num state-${s}`, 'data-field': s }, ns.states[s])),
      h('td', { 'data-field': 'selfPreservation', class: ns.selfPreservation ? 'warn' : '' }, ns.selfPreservation ? 'expiry paused' : 'off')))));
}

function clusterTable(cluster) {
  return [h('h2', null, 'Cluster'), h('table', { id: 'cluster' },
    h('thead', null, h('tr', null, ['Node', 'Address', 'Status', 'Revision', 'Lag', 'Leases', 'Watchers', 'Last heard'].map(t => h('th', null, t)))),
    h('tbody', null, cluster.nodes.map(n => h('tr', { class: n.self ? 'self' : '' },
      h('td', null, n.id, n.self ? ' (this node)' : ''), h('td', null, n.address), h('td', { class: `status-${n.status}` }, n.status),
      h('td', { class: 'num' }, n.revision), h('td', { class: 'num' }, n.lag), h('td', { class: 'num' }, n.leases),
      h('td', { class: 'num' }, n.watchers), h('td', { class: 'num' }, `${n.lastHeardSeconds} s ago`)))))];
}
