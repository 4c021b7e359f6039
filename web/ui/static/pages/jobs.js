// The jobs page: verify (a scrub that reads every container back).

import {api} from '../api.js';
import {h, replace, confirmDialog, toast} from '../dom.js';
import {bytes, count, dateTime, duration, percent, rate} from '../format.js';
import {page, card, banner, table, needRole} from './common.js';

const FAST_MS = 2000;
const SLOW_MS = 30000;
const ACTIVE = new Set(['running', 'paused']);

const STATE_TEXT = {
  idle: 'Idle',
  running: 'Running',
  paused: 'Paused',
  done: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function validTime(t) {
  const d = t ? new Date(t) : null;
  return d && !Number.isNaN(d.getTime()) && d.getFullYear() > 1970 ? d : null;
}

function progress(v) {
  const total = v.bytes || 0;
  const frac = total > 0 ? Math.min(1, (v.bytes_done || 0) / total)
    : v.containers > 0 ? Math.min(1, (v.containers_done || 0) / v.containers) : (v.state === 'done' ? 1 : 0);
  const started = validTime(v.started);
  const end = validTime(v.finished) || new Date();
  const secs = started ? Math.max(0, (end - started) / 1000) : 0;
  const speed = secs > 0 ? (v.bytes_done || 0) / secs : 0;
  const eta = v.state === 'running' && speed > 0 && total > 0 ? (total - v.bytes_done) / speed : 0;
  return h('div', {class: 'progress-block'},
    h('div', {class: `progress progress-${v.state}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-valuenow': Math.round(frac * 100)}, h('div', {class: 'progress-fill', style: {width: `${(frac * 100).toFixed(1)}%`}})),
    h('div', {class: 'progress-text'},
      h('strong', {}, percent(frac)),
      h('span', {}, `${count(v.containers_done)} of ${count(v.containers)} containers`),
      h('span', {}, `${bytes(v.bytes_done)} of ${bytes(v.bytes)}`),
      speed > 0 ? h('span', {}, rate(speed)) : null,
      eta > 0 ? h('span', {}, `about ${duration(eta)} left`) : null));
}

function damageItems(items) {
  return (items || []).map((it) => typeof it === 'string' ? it : [it.store, it.name || it.item].filter(Boolean).join('/')).join(', ') || '–';
}

function result(v) {
  const damage = v.damage || [];
  if (v.state === 'failed') return banner(`Verify failed: ${v.error || 'no reason given'}`);
  if (v.state === 'cancelled') return banner('Verify was cancelled before it finished; the figures above cover what it checked.', 'warn');
  if (damage.length === 0) {
    if (v.state === 'done') return banner(`No damage found: every chunk in ${count(v.containers)} containers (${bytes(v.bytes)}) matched its fingerprint.`, 'ok');
    return null;
  }
  return h('div', {},
    banner(`${damage.length} damaged ${damage.length === 1 ? 'chunk' : 'chunks'} found. The items listed below cannot be restored intact.`),
    table([
      {label: 'Items affected', cell: (d) => h('span', {class: 'mono'}, damageItems(d.items))},
      {label: 'Problem', cell: (d) => d.problem},
      {label: 'Volume', cls: 'num', cell: (d) => String(d.volume ?? '–')},
      {label: 'Container', cls: 'num', cell: (d) => String(d.container ?? '–')},
      {label: 'Offset', cls: 'num', cell: (d) => count(d.offset)},
      {label: 'Chunk', cell: (d) => h('span', {class: 'mono', title: d.chunk}, d.chunk ? `${String(d.chunk).slice(0, 16)}…` : '–')},
    ], damage));
}

export function render(app) {
  const canRun = app.allows('operator');
  const {el, body} = page({title: 'Jobs', subtitle: 'Background work on the chunk pool.'});
  const notice = h('div', {});
  const panel = h('div', {});
  const controls = h('div', {class: 'btn-group'});
  body.append(notice, card('Verify', panel, {actions: controls}));
  let timer = null;
  let stopped = false;

  const act = async (path, label) => {
    replace(notice);
    try {
      await api.post(`/verify${path}`);
      toast(label);
    } catch (err) {
      replace(notice, banner(err.message));
    }
    schedule(0);
  };

  const button = (label, cls, action, enabled) => h('button', {class: `btn ${cls}`, type: 'button',
    disabled: !canRun || !enabled, title: canRun ? undefined : needRole('operator'),
    'data-action': `verify-${action}`, onclick: action === 'cancel' ? async () => {
      if (await confirmDialog({title: 'Cancel verify?', message: 'The containers checked so far stay checked; the rest are not.',
        confirm: 'Cancel verify'})) act('/cancel', 'Verify cancelled.');
    } : () => act(action === 'start' ? '' : `/${action}`, `Verify ${action === 'start' ? 'started' : `${action}d`}.`)}, label);

  const show = (v) => {
    const active = ACTIVE.has(v.state);
    replace(controls,
      button(v.state === 'idle' ? 'Start verify' : 'Run again', 'btn-primary', 'start', !active),
      button('Pause', '', 'pause', v.state === 'running'),
      button('Resume', '', 'resume', v.state === 'paused'),
      button('Cancel', 'btn-danger-ghost', 'cancel', active));
    const started = validTime(v.started);
    const finished = validTime(v.finished);
    replace(panel,
      h('p', {class: 'muted'}, 'Verify reads every container back and checks each chunk against its fingerprint. ' +
        'It runs beside backups at a lower priority and does not run inside a blackout window.'),
      h('div', {class: 'job-state'},
        h('span', {class: `badge state-${v.state}`, 'data-verify-state': v.state}, STATE_TEXT[v.state] || v.state),
        v.state === 'idle' ? h('span', {class: 'muted'}, 'Verify has not run since the appliance started.') : null,
        started ? h('span', {class: 'muted'}, `Started ${dateTime(started)}`) : null,
        finished ? h('span', {class: 'muted'}, `Finished ${dateTime(finished)}`) : null,
        started && finished ? h('span', {class: 'muted'}, finished - started < 1000 ? 'took less than a second' : `took ${duration((finished - started) / 1000)}`) : null),
      v.state !== 'idle' ? progress(v) : null,
      h('div', {'data-verify-result': ''}, result(v)));
    return active;
  };

  const load = async () => {
    try {
      return show(await api.get('/verify'));
    } catch (err) {
      replace(panel, banner(`Cannot load the verify status: ${err.message}`));
      return false;
    }
  };

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (stopped) return;
      const active = await load();
      if (!stopped) schedule(active ? FAST_MS : SLOW_MS);
    }, ms);
  }
  schedule(0);
  return {el, dispose: () => { stopped = true; clearTimeout(timer); }};
}
