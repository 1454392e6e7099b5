// Building the page: every string becomes a text node, never HTML, so
// nothing the API returns can run as markup.

/** h('p', {class: 'x', onclick: fn, style: {width: '5%'}}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'style' && typeof value === 'object') {
      // Through the CSSOM: the CSP refuses inline style attributes.
      Object.assign(el.style, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  // A cell holding only money, a number, a date or a time never breaks
  // inside it: the table grows, and its wrapper scrolls sideways.
  if (tag === 'td' && NUMERIC.test(el.textContent.trim())) el.classList.add('nowrap');
  return el;
}

const NUMERIC = /^[¥\d][\d.,:\- ¥/%]*$/;

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) {
      append(el, child);
    } else if (child instanceof Node) {
      el.appendChild(child);
    } else {
      el.appendChild(document.createTextNode(String(child)));
    }
  }
}

/** Replaces the content of `el` with `children`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Yuan as the API gives it (a number) → "¥88.50". */
export function money(yuan) {
  const n = Number(yuan || 0);
  return '¥' + n.toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

let zone = 'Asia/Shanghai';

/** The club's time zone, for every date and time shown. */
export function setZone(tz) {
  if (tz) zone = tz;
}

/** An RFC 3339 instant → "2026-12-02 20:05" in the club's zone. */
export function dateTime(instant) {
  if (!instant) return '';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return '';
  const parts = new Intl.DateTimeFormat('zh-CN', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(d);
  const get = (type) => (parts.find((p) => p.type === type) || {}).value || '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/** A message box; `kind` is 'error' or 'info'. */
export function notice(kind, text) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** The club's zone offset (ms east of UTC) at instant `ms`. */
function offsetAt(ms) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric',
    hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const n = (type) => Number((parts.find((p) => p.type === type) || {}).value);
  const local = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return local - Math.floor(ms / 1000) * 1000;
}

/** An RFC 3339 instant → "YYYY-MM-DDTHH:mm" in the club's zone (for datetime-local). */
export function localInput(instant) {
  if (!instant) return '';
  const ms = new Date(instant).getTime();
  if (Number.isNaN(ms)) return '';
  return new Date(ms + offsetAt(ms)).toISOString().slice(0, 16);
}

/** "YYYY-MM-DDTHH:mm" read in the club's zone → an RFC 3339 instant, or null. */
export function fromLocalInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value || '');
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  const first = wall - offsetAt(wall);
  return new Date(wall - offsetAt(first)).toISOString();
}

/** Today in the club's zone, "YYYY-MM-DD". */
export function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
}

/** A "YYYY-MM-DD" date `days` later. */
export function addDays(date, days) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A table: `heads` as [label, className?], `rows` as arrays of cells. */
export function table(heads, rows, rowAttrs = () => ({})) {
  return h('div', { class: 'table-wrap', tabindex: 0 }, h('table', {},
    h('thead', {}, h('tr', {}, heads.map(([label, cls]) => h('th', { class: cls }, label)))),
    h('tbody', {}, rows.map((cells, i) => h('tr', rowAttrs(i),
      cells.map((c, j) => h('td', { class: heads[j] && heads[j][1] }, c)))))));
}

/** A link inside the console that does not reload the page. */
export function link(path, text, attrs = {}) {
  return h('a', {
    href: `/admin/${path}`, ...attrs,
    onclick: (e) => {
      e.preventDefault();
      window.dispatchEvent(new CustomEvent('console-navigate', { detail: path }));
    },
  }, text);
}
