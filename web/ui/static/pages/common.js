// Building blocks the pages share: headers, tables, empty states, polling.

import {h, icon} from '../dom.js';

// page returns a page container with a header.
export function page({title, subtitle, actions, back}) {
  const body = h('div', {class: 'page-body'});
  const el = h('div', {class: 'page'},
    h('div', {class: 'page-head'},
      h('div', {},
        back ? h('a', {href: back.href, class: 'back'}, icon('back'), back.label) : null,
        h('h1', {}, title),
        subtitle ? h('p', {class: 'subtitle'}, subtitle) : null),
      h('div', {class: 'page-actions'}, actions || [])),
    body);
  return {el, body};
}

// card returns a panel with an optional title and header actions.
export function card(title, content, {actions, cls, id} = {}) {
  return h('section', {class: ['card', cls], id},
    title || actions ? h('div', {class: 'card-head'}, h('h2', {}, title || ''), h('div', {class: 'card-actions'}, actions || [])) : null,
    content);
}

// banner shows an error (or another notice) inline.
export function banner(message, kind = 'error') {
  return h('div', {class: `banner banner-${kind}`, role: kind === 'error' ? 'alert' : 'status'}, message);
}

// empty shows an empty state.
export function empty(title, text, action) {
  return h('div', {class: 'empty'}, h('h3', {}, title), text ? h('p', {}, text) : null, action || null);
}

export const loading = () => h('div', {class: 'loading'}, h('span', {class: 'spinner'}), 'Loading…');

// table builds a data table. columns: [{label, cell(row) → node|string, cls}].
export function table(columns, rows, {rowAttrs} = {}) {
  return h('div', {class: 'table-wrap'},
    h('table', {class: 'table'},
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {class: c.cls, scope: 'col'}, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
        columns.map((c) => h('td', {class: c.cls}, c.cell(r))))))));
}

// poll calls fn now and then every ms until stopped; it never overlaps calls
// and skips ticks while the tab is hidden.
export function poll(fn, ms) {
  let timer = null;
  let stopped = false;
  let gen = 0;
  const tick = async (g) => {
    if (stopped || g !== gen) return;
    if (!document.hidden) {
      try { await fn(); } catch { /* fn shows its own errors */ }
    }
    if (!stopped && g === gen) timer = setTimeout(() => tick(g), ms);
  };
  tick(gen);
  return {
    stop() { stopped = true; clearTimeout(timer); },
    // now runs fn at once and restarts the interval.
    now() { clearTimeout(timer); gen++; tick(gen); },
  };
}

// roleNote explains why a control is disabled.
export const needRole = (role) => `Requires the ${role} role`;

// levelBadge renders an event level.
export const levelBadge = (level) => h('span', {class: `badge level-${level || 'info'}`}, level || 'info');

// healthBadge renders a health state (ok, warning, degraded, failed).
const HEALTH_LABEL = {ok: 'Healthy', warning: 'Warning', degraded: 'Degraded', failed: 'Failed'};
export const healthBadge = (state) => h('span', {class: `badge health-badge health-${HEALTH_LABEL[state] ? state : 'unknown'}`,
  'data-health-state': state}, HEALTH_LABEL[state] || state);

// degradedMark marks a share or library that could not open, with why.
export const degradedMark = (why) => (why
  ? h('span', {class: 'badge level-warning degraded-mark', title: why, 'data-degraded': ''}, 'Degraded')
  : null);
