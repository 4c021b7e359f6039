// The events page: system events, and for administrators the audit log.

import {latestEvents} from '../api.js';
import {h, replace} from '../dom.js';
import {dateTime, sentence} from '../format.js';
import {page, card, banner, empty, table, loading, levelBadge, poll} from './common.js';

const KEEP = 500;
const SHOW = 100;

export function render(app) {
  const isAdmin = app.allows('admin');
  let kind = 'system';
  let level = '';
  let shown = SHOW;
  let cursor;
  let events = [];

  const tab = (k, label) => h('button', {type: 'button', role: 'tab', class: 'tab', 'data-kind': k,
    disabled: k === 'audit' && !isAdmin, title: k === 'audit' && !isAdmin ? 'Requires the admin role' : undefined,
    onclick: () => { kind = k; cursor = undefined; shown = SHOW; list.replaceChildren(loading()); poller.now(); }}, label);
  const tabs = h('div', {class: 'tabs', role: 'tablist'}, tab('system', 'System events'), tab('audit', 'Audit log'));
  const levelSel = h('select', {'aria-label': 'Level', class: 'input-inline', onchange: () => { level = levelSel.value; draw(); }},
    h('option', {value: ''}, 'All levels'),
    h('option', {value: 'warning'}, 'Warnings and errors'),
    h('option', {value: 'error'}, 'Errors only'));
  const {el, body} = page({
    title: 'Events',
    subtitle: isAdmin ? 'What the appliance did, and every change made through the console or the API.'
      : 'What the appliance did. The audit log of changes is for administrators.',
  });
  const list = h('div', {}, loading());
  body.append(h('div', {class: 'tabs-row'}, tabs, levelSel), card('', list));

  const draw = () => {
    for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.kind === kind));
    const rows = events.filter((e) => !level || (level === 'error' ? e.level === 'error' : e.level !== 'info'));
    if (rows.length === 0) {
      replace(list, empty(events.length ? 'Nothing at this level' : 'No events yet',
        kind === 'audit' ? 'Changes made through the console or the API are listed here.' : 'The appliance records starts, stops, jobs and problems here.'));
      return;
    }
    const cols = [
      {label: 'Time', cls: 'nowrap', cell: (e) => dateTime(e.time)},
      {label: 'Level', cls: 'nowrap', cell: (e) => levelBadge(e.level)},
      kind === 'audit' ? {label: 'User', cell: (e) => e.actor || '–'} : null,
      {label: 'Action', cell: (e) => h('span', {class: 'mono'}, e.action)},
      {label: 'Object', cell: (e) => e.object || '–'},
      {label: 'Message', cls: 'wrap', cell: (e) => sentence(e.message)},
    ].filter(Boolean);
    replace(list, table(cols, rows.slice(0, shown), {rowAttrs: (e) => ({class: `row-${e.level}`})}),
      rows.length > shown ? h('div', {class: 'pager'}, h('span', {class: 'muted'}, `Showing ${shown} of ${rows.length}`),
        h('button', {class: 'btn btn-small', type: 'button', onclick: () => { shown += SHOW; draw(); }}, 'Show more')) : null);
  };

  const load = async () => {
    const k = kind;
    try {
      const r = await latestEvents(k, KEEP, cursor);
      if (k !== kind) return;
      cursor = r.cursor;
      events = r.events;
      draw();
    } catch (err) {
      if (k !== kind) return;
      replace(list, banner(`Cannot load the events: ${err.message}`));
    }
  };
  const poller = poll(load, 10000);
  return {el, dispose: () => poller.stop()};
}
