// The registry's HTTP API as the console uses it: JSON reads and writes with the session's token, and the
// watch stream read through fetch (EventSource cannot send an Authorization header).

const tokenKey = 'roster.token';

export const token = {
  get: () => sessionStorage.getItem(tokenKey),
  set: value => value ? sessionStorage.setItem(tokenKey, value) : sessionStorage.removeItem(tokenKey),
};

/** An answer other than 2xx: its status and the RFC 7807 problem's title and detail when there is one. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra) {
  const result = { Accept: 'application/json', ...extra };
  const bearer = token.get();
  if (bearer) result.Authorization = `Bearer ${bearer}`;
  return result;
}

export async function request(method, path, body, signal) {
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: 'no-store',
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const get = (path, signal) => request('GET', path, undefined, signal);

export const path = (...segments) => segments.map(encodeURIComponent).join('/');

/** Server-Sent Events frames of a fetch response body: {event, id, data}. Comments (keep-alives) are skipped. */
async function* frames(response, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener('abort', () => reader.cancel().catch(() => {}), { once: true });
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message', id = null;
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id') id = text;
      }
      if (data.length > 0) yield { event, id, data: JSON.parse(data.join('\n')) };
    }
  }
}

/** Opens a namespace's watch stream (some services of it, or all), from revision `since` when given. */
function openWatch(namespace, services, since, signal) {
  const query = new URLSearchParams(services.map(service => ['service', service]));
  if (since !== undefined && since !== null) query.set('since', String(since));
  return fetch(`/api/v1/namespaces/${encodeURIComponent(namespace)}/watch?${query}`, {
    headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store',
  });
}

/**
 * The changes to some services of a namespace after revision `after` up to `through`, as the watch's history holds
 * them (oldest first); empty when that history no longer reaches back so far (the stream then starts with a reset).
 * Gives up quietly after three seconds: history is a courtesy, the live list never depends on it.
 */
export async function history({ namespace, services = [], after, through, signal }) {
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, 3000);
  const changes = [];
  try {
    const response = await openWatch(namespace, services, after, controller.signal);
    if (!response.ok) return changes;
    for await (const frame of frames(response, controller.signal)) {
      if (frame.event === 'reset' || frame.event === 'disconnect') break;
      if (typeof frame.data?.revision !== 'number' || frame.data.revision > through) break;
      changes.push(frame);
      if (frame.data.revision === through) break;
    }
  } catch {
    // Aborted or failed: whatever arrived is kept.
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
    controller.abort();
  }
  return changes;
}

/**
 * Follows a namespace's watch (optionally some services) from revision `since`, forever: when the stream ends or
 * fails it reconnects by itself after a short delay, resuming from the last revision it delivered, so no change is
 * missed and none is delivered twice. onFrame({event, data}) gets upsert, delete and reset frames; onState(state)
 * hears 'live', 'disconnected' or 'refused' (with the ApiError). Stops when signal aborts.
 */
export async function follow({ namespace, services = [], since, onFrame, onState, signal }) {
  let revision = since;
  let delay = 500;
  while (!signal.aborted) {
    try {
      const response = await openWatch(namespace, services, revision, signal);
      if (!response.ok) {
        const text = await response.text();
        const error = new ApiError(response.status, text ? JSON.parse(text) : null);
        if (response.status === 401 || response.status === 403) {
          onState('refused', error);
          return;
        }
        throw error;
      }
      onState('live');
      delay = 500;
      for await (const frame of frames(response, signal)) {
        if (frame.event === 'disconnect') {
          if (frame.data?.resumeFrom !== undefined) revision = frame.data.resumeFrom;
          break;
        }
        onFrame(frame);
        if (typeof frame.data?.revision === 'number') revision = frame.data.revision;
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    if (signal.aborted) return;
    onState('disconnected');
    await new Promise(resolve => {
      const timer = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    delay = Math.min(delay * 2, 4000);
  }
}
