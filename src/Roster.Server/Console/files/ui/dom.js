// Builds DOM nodes. Every value becomes a text node or an attribute set through the DOM, never markup,
// so a registration's metadata can never inject HTML into the console.

/** h('td', {class: 'x', onclick: fn}, 'text', child, ...) */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside element with children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export function formatDuration(seconds) {
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

/**
 * Puts `count` rows into a table body, made by rowAt(i) when needed: the first screenful at once and the rest a
 * chunk per frame, so a long list never holds the page for one long task. A later call for the same body cancels an
 * unfinished one.
 */
export function setRowsProgressively(body, count, rowAt, chunk = 100) {
  body.rowsJob = (body.rowsJob ?? 0) + 1;
  const job = body.rowsJob;
  const rows = from => Array.from({ length: Math.max(0, Math.min(chunk, count - from)) }, (_, i) => rowAt(from + i));
  body.replaceChildren(...rows(0));
  let next = chunk;
  const step = () => {
    if (body.rowsJob !== job || next >= count) return;
    body.append(...rows(next));
    next += chunk;
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

/**
 * Puts rows in place of the body's current ones when only some rows changed at the same positions (a changed row is a
 * new element, not yet in the page): the browser then restyles those rows alone, at most `perFrame` of them per frame
 * (the rest in the next frames). False, with the body untouched, when rows came, went or moved; the caller then lays
 * them all down. Either way an unfinished setRowsProgressively or swap on the body is cancelled: these rows are the
 * ones wanted now.
 */
export function swapRowsInPlace(body, rows, perFrame = Infinity) {
  body.rowsJob = (body.rowsJob ?? 0) + 1;
  const job = body.rowsJob;
  const current = body.children;
  if (current.length !== rows.length) return false;
  for (let i = 0; i < rows.length; i++) {
    if (current[i] !== rows[i] && rows[i].isConnected) return false;
  }
  let next = 0;
  const step = () => {
    if (body.rowsJob !== job) return;
    for (let swapped = 0; next < rows.length && swapped < perFrame; next++) {
      if (current[next] === rows[next]) continue;
      current[next].replaceWith(rows[next]);
      swapped++;
    }
    if (next < rows.length) requestAnimationFrame(step);
  };
  step();
  return true;
}
