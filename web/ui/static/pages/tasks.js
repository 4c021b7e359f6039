// The tasks page: every long operation (housekeeping, verify, replication
// passes) with its outcome, filterable by kind and state; and one task's
// page with its progress, live while it runs, and its log.

import {api, query} from '../api.js';
import {h, replace, confirmDialog, toast} from '../dom.js';
import {dateTime, duration, percent, sentence} from '../format.js';
import {page, card, banner, empty, table, loading, poll, needRole} from './common.js';

const LIVE_MS = 1000;
const LIST_MS = 3000;
const PAGE = 50;
const ACTIVE = new Set(['running', 'paused', 'blackout']);

const STATE_TEXT = {
  running: 'Running',
  paused: 'Paused',
  blackout: 'Waiting: blackout window',
  done: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
  interrupted: 'Interrupted',
};
const KIND_TEXT = {housekeeping: 'Housekeeping', verify: 'Verify', replication: 'Replication'};

const stateBadge = (t) => h('span', {class: `badge state-${t.state === 'interrupted' ? 'cancelled' : t.state}`,
  'data-task-state': t.state}, STATE_TEXT[t.state] || t.state);

// took is how long t ran, or has run so far.
function took(t) {
  const start = new Date(t.started).getTime();
  const end = t.finished ? new Date(t.finished).getTime() : Date.now();
  if (!(start > 0) || (t.state === 'interrupted' && !t.finished)) return '–';
  const s = (end - start) / 1000;
  return s < 1 ? 'less than a second' : duration(s);
}

function bar(t) {
  const f = Math.max(0, Math.min(1, Number(t.progress) || 0));
  return h('div', {class: `progress progress-${t.state}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-valuenow': Math.round(f * 100)}, h('div', {class: 'progress-fill', style: {width: `${(f * 100).toFixed(1)}%`}}));
}

function progressCell(t) {
  if (t.figures_hidden) return h('span', {class: 'muted', title: 'Pool figures are shown to administrators'}, '–');
  return h('div', {class: 'task-progress'}, bar(t), h('span', {class: 'muted'}, percent(t.progress)));
}

function renderList(app) {
  let kind = '';
  let state = '';
  let limit = PAGE;
  const select = (label, options, set) => {
    const el = h('select', {'aria-label': label, class: 'input-inline', 'data-filter': label.toLowerCase(),
      onchange: () => { set(el.value); limit = PAGE; list.replaceChildren(loading()); poller.now(); }},
    options.map(([v, text]) => h('option', {value: v}, text)));
    return el;
  };
  const filters = h('div', {class: 'task-filters'},
    select('Kind', [['', 'All kinds'], ...Object.entries(KIND_TEXT)], (v) => { kind = v; }),
    select('State', [['', 'All states'], ['running', 'Running'], ['done', 'Finished'], ['failed', 'Failed'],
      ['cancelled', 'Cancelled'], ['interrupted', 'Interrupted']], (v) => { state = v; }));
  const {el, body} = page({title: 'Tasks',
    subtitle: 'Every housekeeping and verify run and every replication pass, newest first: the last 500 are kept.'});
  const list = h('div', {}, loading());
  body.append(filters, card('', list));

  const draw = (r) => {
    if (r.tasks.length === 0) {
      replace(list, empty(kind || state ? 'No such tasks' : 'No tasks yet',
        'Housekeeping, verify and replication passes are listed here as they run.'));
      return;
    }
    const cols = [
      {label: 'Task', cls: 'nowrap', cell: (t) => h('a', {href: `/tasks/${t.id}`, 'data-task-link': t.id}, `#${t.id}`)},
      {label: 'Kind', cls: 'nowrap', cell: (t) => KIND_TEXT[t.kind] || t.kind},
      {label: 'What', cls: 'wrap', cell: (t) => [sentence(t.title), t.auto ? h('span', {class: 'badge state-idle'}, 'Scheduled') : null]},
      {label: 'State', cls: 'nowrap', cell: stateBadge},
      {label: 'Started', cls: 'nowrap', cell: (t) => dateTime(t.started)},
      {label: 'Took', cls: 'nowrap', cell: took},
      {label: 'Progress', cell: progressCell},
    ];
    replace(list, table(cols, r.tasks, {rowAttrs: (t) => ({'data-task': t.id})}),
      r.next && limit < 500 ? h('div', {class: 'pager'}, h('span', {class: 'muted'}, `Showing the newest ${r.tasks.length}`),
        h('button', {class: 'btn btn-small', type: 'button', onclick: () => { limit += PAGE; poller.now(); }}, 'Show older')) : null);
  };
  const load = async () => {
    const want = {kind, state, limit};
    try {
      const r = await api.get(`/tasks${query(want)}`);
      if (want.kind === kind && want.state === state && want.limit === limit) draw(r);
    } catch (err) {
      replace(list, banner(`Cannot load the tasks: ${err.message}`));
    }
  };
  const poller = poll(load, LIST_MS);
  return {el, dispose: () => poller.stop()};
}

function renderTask(app, id) {
  const canCancel = app.allows('operator');
  const {el, body} = page({title: `Task #${id}`, back: {href: '/tasks', label: 'Tasks'}});
  const notice = h('div', {});
  const head = h('div', {}, loading());
  const logBox = h('div', {class: 'task-log', 'data-task-log': ''});
  body.append(notice, card('', head, {cls: 'card-task'}), card('Log', logBox));
  let done = false;

  const cancel = async (t) => {
    if (!await confirmDialog({title: 'Cancel the task?', message: `${sentence(t.title)}: it stops at the next safe point.`,
      confirm: 'Cancel task'})) return;
    try {
      await api.post(`/tasks/${id}/cancel`);
      toast('Task cancelled.');
    } catch (err) {
      replace(notice, banner(err.message));
    }
    poller.now();
  };

  const draw = (t) => {
    const active = ACTIVE.has(t.state);
    const cancelBtn = t.cancellable && active ? h('button', {class: 'btn btn-danger', type: 'button', 'data-action': 'task-cancel',
      disabled: !canCancel, title: canCancel ? undefined : needRole('operator'), onclick: () => cancel(t)}, 'Cancel') : null;
    replace(head,
      h('div', {class: 'task-head'}, h('h2', {}, sentence(t.title)), cancelBtn),
      h('div', {class: 'job-state'}, stateBadge(t),
        h('span', {class: 'muted'}, KIND_TEXT[t.kind] || t.kind),
        t.auto ? h('span', {class: 'badge state-idle'}, 'Scheduled') : null,
        h('span', {class: 'muted'}, `Started ${dateTime(t.started)}`),
        t.finished ? h('span', {class: 'muted'}, `Finished ${dateTime(t.finished)}`) : null,
        h('span', {class: 'muted'}, `took ${took(t)}`)),
      t.figures_hidden ? h('p', {class: 'muted'}, 'Its progress and log are figures of the whole pool, which administrators see.')
        : h('div', {class: 'progress-block'}, bar(t), h('div', {class: 'progress-text'},
          h('strong', {'data-task-percent': ''}, percent(t.progress)), h('span', {'data-task-text': ''}, t.text || ''))),
      t.error ? banner(sentence(t.error)) : null);
    if (t.figures_hidden) {
      replace(logBox, h('p', {class: 'muted'}, 'Shown to administrators.'));
    } else {
      const dropped = t.lines - t.log.length;
      replace(logBox, dropped > 0 ? h('p', {class: 'muted'}, `The first ${dropped} lines are no longer kept.`) : null,
        t.log.length === 0 ? h('p', {class: 'muted'}, 'Nothing logged yet.')
          : h('ol', {class: 'log-lines mono'}, t.log.map((l) => h('li', {}, h('span', {class: 'muted'}, dateTime(l.time)), ' ', l.text))));
    }
    done = !active;
  };
  const load = async () => {
    try {
      draw(await api.get(`/tasks/${encodeURIComponent(id)}`));
    } catch (err) {
      replace(head, banner(err.status === 404 ? `There is no task #${id}: the last 500 are kept.` : `Cannot load the task: ${err.message}`));
      done = true;
    }
    if (done) poller.stop();
  };
  const poller = poll(load, LIVE_MS);
  return {el, dispose: () => poller.stop()};
}

export function render(app, id) {
  return id ? renderTask(app, id) : renderList(app);
}
