// The jobs page: housekeeping (space reclamation) and verify (a scrub that
// reads every container back), each a card with its controls and progress.

import {api} from '../api.js';
import {h, replace, confirmDialog, toast} from '../dom.js';
import {bytes, count, dateTime, clock, duration, percent, rate} from '../format.js';
import {page, card, banner, table, needRole} from './common.js';

const FAST_MS = 2000;
const SLOW_MS = 30000;
const ACTIVE = new Set(['running', 'paused', 'blackout']);

const STATE_TEXT = {
  idle: 'Idle',
  running: 'Running',
  paused: 'Paused',
  blackout: 'Waiting: blackout window',
  done: 'Finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function validTime(t) {
  const d = t ? new Date(t) : null;
  return d && !Number.isNaN(d.getTime()) && d.getFullYear() > 1970 ? d : null;
}

const took = (secs) => (secs < 1 ? 'less than a second' : duration(secs));

function bar(state, frac, indeterminate) {
  return h('div', {class: `progress progress-${state}${indeterminate ? ' progress-busy' : ''}`, role: 'progressbar',
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(frac * 100)},
  h('div', {class: 'progress-fill', style: {width: indeterminate ? '30%' : `${(frac * 100).toFixed(1)}%`}}));
}

// stateRow shows the badge, when the run started and ended, and how long it took.
function stateRow(v, kind, idleText, extra) {
  const started = validTime(v.started);
  const finished = validTime(v.finished);
  return h('div', {class: 'job-state'},
    h('span', {class: `badge state-${v.state}`, [`data-${kind}-state`]: v.state}, STATE_TEXT[v.state] || v.state),
    v.state === 'idle' ? h('span', {class: 'muted'}, idleText) : null,
    extra || null,
    started ? h('span', {class: 'muted'}, `Started ${dateTime(started)}`) : null,
    finished ? h('span', {class: 'muted'}, `Finished ${dateTime(finished)}`) : null,
    started && finished ? h('span', {class: 'muted'}, `took ${took((finished - started) / 1000)}`) : null);
}

// jobCard is a card that polls a job's status and offers start, pause,
// resume and cancel. spec: {kind, path, title, noun, cancelText, about,
// body(v) → nodes, ready (a promise to wait for before the first load)}.
function jobCard(app, spec) {
  const canRun = app.allows('operator');
  const notice = h('div', {});
  const panel = h('div', {});
  const controls = h('div', {class: 'btn-group'});
  const el = card(spec.title, h('div', {}, notice, panel), {actions: controls, cls: `card-job card-${spec.kind}`});
  let timer = null;
  let stopped = false;
  const Noun = spec.noun.charAt(0).toUpperCase() + spec.noun.slice(1);

  const act = async (path, label) => {
    replace(notice);
    try {
      await api.post(`${spec.path}${path}`);
      toast(label);
    } catch (err) {
      replace(notice, banner(err.message));
    }
    schedule(0);
  };

  const button = (label, cls, action, enabled) => h('button', {class: `btn ${cls}`, type: 'button',
    disabled: !canRun || !enabled, title: canRun ? undefined : needRole('operator'),
    'data-action': `${spec.kind}-${action}`, onclick: action === 'cancel' ? async () => {
      if (await confirmDialog({title: `Cancel ${spec.noun}?`, message: spec.cancelText, confirm: `Cancel ${spec.noun}`})) {
        act('/cancel', `${Noun} cancelled.`);
      }
    } : () => act(action === 'start' ? '' : `/${action}`, `${Noun} ${action === 'start' ? 'started' : `${action}d`}.`)}, label);

  const show = (v, extra) => {
    const active = ACTIVE.has(v.state);
    replace(controls,
      button(v.state === 'idle' ? `Start ${spec.noun}` : 'Run again', 'btn-primary', 'start', !active),
      button('Pause', '', 'pause', v.state === 'running' || v.state === 'blackout'),
      button('Resume', '', 'resume', v.state === 'paused'),
      button('Cancel', 'btn-danger-ghost', 'cancel', active));
    replace(panel, h('p', {class: 'muted'}, spec.about), spec.body(v, extra));
    return active;
  };

  const load = async () => {
    try {
      if (spec.ready) await spec.ready;
      const v = await api.get(spec.path);
      return show(v, spec.extra ? await spec.extra() : null);
    } catch (err) {
      replace(panel, banner(`Cannot load the ${spec.noun} status: ${err.message}`));
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
  return {el, refresh: () => schedule(0), dispose: () => { stopped = true; clearTimeout(timer); }};
}

// Verify.

function verifyProgress(v) {
  const total = v.bytes || 0;
  const frac = total > 0 ? Math.min(1, (v.bytes_done || 0) / total)
    : v.containers > 0 ? Math.min(1, (v.containers_done || 0) / v.containers) : (v.state === 'done' ? 1 : 0);
  const started = validTime(v.started);
  const end = validTime(v.finished) || new Date();
  const secs = started ? Math.max(0, (end - started) / 1000) : 0;
  const speed = secs > 0 ? (v.bytes_done || 0) / secs : 0;
  const eta = v.state === 'running' && speed > 0 && total > 0 ? (total - v.bytes_done) / speed : 0;
  return h('div', {class: 'progress-block'},
    bar(v.state, frac),
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

function verifyResult(v) {
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
      {label: 'Items affected', cell: (d) => h('span', {class: 'mono', title: damageItems(d.items)},
        damageItems(d.names && d.names.length ? d.names : d.items))},
      {label: 'Problem', cell: (d) => d.problem},
      {label: 'Volume', cls: 'num', cell: (d) => String(d.volume ?? '–')},
      {label: 'Container', cls: 'num', cell: (d) => String(d.container ?? '–')},
      {label: 'Offset', cls: 'num', cell: (d) => count(d.offset)},
      {label: 'Chunk', cell: (d) => h('span', {class: 'mono', title: d.chunk}, d.chunk ? `${String(d.chunk).slice(0, 16)}…` : '–')},
    ], damage));
}

const verifySpec = {
  kind: 'verify', path: '/verify', title: 'Verify', noun: 'verify',
  cancelText: 'The containers checked so far stay checked; the rest are not.',
  about: 'Verify reads every container back and checks each chunk against its fingerprint. ' +
    'It runs beside backups at a lower priority and waits while a blackout window is in force.',
  // The appliance's health keeps the damage of a verify before a restart.
  extra: () => api.get('/health').catch(() => null),
  body: (v, health) => [
    stateRow(v, 'verify', 'Verify has not run since the appliance started.',
      v.auto && v.state !== 'idle' ? h('span', {class: 'badge state-idle'}, v.slices > 1 ? `Scheduled: a 1/${v.slices} slice` : 'Scheduled') : null),
    v.state !== 'idle' ? verifyProgress(v) : null,
    h('div', {'data-verify-result': ''}, verifyResult(v)),
    v.state === 'idle' ? earlierDamage(health) : null,
    verifyScheduleLine(v)],
};

// verifyScheduleLine says when scheduled verify next runs, if it is on.
function verifyScheduleLine(v) {
  const next = validTime(v.next_auto_verify);
  const link = h('a', {href: '/settings', class: 'link'}, 'Change in Settings');
  return h('p', {class: 'muted small verify-auto'}, next
    ? `Scheduled verify is on: it checks a slice of the data each day (next at ${dateTime(next)}). ` : 'Scheduled verify is off. ', link);
}

// earlierDamage is the damage a verify found before the appliance
// restarted, as its health keeps it.
function earlierDamage(health) {
  const damage = (health && health.damage) || [];
  if (damage.length === 0) return null;
  return h('div', {'data-earlier-damage': ''},
    banner(`An earlier verify found damage in ${count(damage.length)} ${damage.length === 1 ? 'item' : 'items'}; ` +
      'they cannot be restored intact. They stay listed until a verify runs clean or they are deleted.'),
    h('ul', {class: 'damage-list'}, damage.map((d) => h('li', {class: 'mono'}, d.name))));
}

// Housekeeping.

const containers = (n) => `${count(n)} ${n === 1 ? 'container' : 'containers'}`;

function hkProgress(v) {
  if (v.state === 'idle') return null;
  const sweeping = v.phase === 'sweep';
  const frac = v.state === 'done' ? 1 : sweeping && v.containers > 0 ? Math.min(1, v.containers_done / v.containers) : 0;
  const busy = v.state === 'running' && !sweeping;
  return h('div', {class: 'progress-block'},
    bar(v.state, frac, busy),
    h('div', {class: 'progress-text'},
      busy ? h('strong', {}, 'Finding the chunks live items use…') : h('strong', {}, percent(frac)),
      sweeping ? h('span', {}, `${count(v.containers_done)} of ${containers(v.containers)} swept`) : null,
      h('span', {'data-hk-reclaimed': v.reclaimed_bytes}, `${bytes(v.reclaimed_bytes)} reclaimed`)));
}

// hkReport says in words what the last finished run did.
function hkReport(r, threshold) {
  if (!r) return null;
  const did = `${bytes(r.reclaimed_bytes)} reclaimed: ${containers(r.dropped_containers)} dropped, ` +
    `${containers(r.rewritten_containers)} rewritten${r.copied_bytes > 0 ? ` (${bytes(r.copied_bytes)} of live chunks copied forward)` : ''}.`;
  const notes = [];
  if (r.kept_containers > 0) notes.push(`${containers(r.kept_containers)} left for the next run because a backup started using them.`);
  if ((r.damaged_containers || []).length > 0) {
    notes.push(`${containers(r.damaged_containers.length)} failed their checks and were left alone: run verify to see which items they hurt.`);
  }
  let main;
  if (r.state === 'failed') {
    main = banner(`Housekeeping failed. Before it stopped, ${did}`);
  } else if (r.state === 'cancelled') {
    main = banner(`Housekeeping was cancelled. Before it stopped, ${did}`, 'warn');
  } else if (r.reclaimed_bytes === 0 && r.dropped_containers === 0 && r.rewritten_containers === 0) {
    main = banner(`Nothing to reclaim: no container holds only deleted data, and every one is at least ${percent(threshold || 0.8)} live.`, 'ok');
  } else {
    main = banner(did, 'ok');
  }
  return h('div', {},
    main,
    h('dl', {class: 'facts hk-facts'},
      h('dt', {}, 'Reclaimed'), h('dd', {}, bytes(r.reclaimed_bytes)),
      h('dt', {}, 'Containers dropped'), h('dd', {}, count(r.dropped_containers)),
      h('dt', {}, 'Containers rewritten'), h('dd', {}, count(r.rewritten_containers)),
      h('dt', {}, 'Stored before → after'), h('dd', {}, `${bytes(r.stored_before)} → ${bytes(r.stored_after)}`),
      h('dt', {}, 'Duration'), h('dd', {}, took(r.duration_seconds))),
    notes.map((n) => h('p', {class: 'muted small'}, n)));
}

// hkPlan says in words what a run would free now.
function hkPlan(p) {
  if (!p) return h('p', {class: 'muted'}, 'Ask what a run would free now: it looks at every container and changes nothing.');
  const live = p.stored_bytes > 0 ? p.live_bytes / p.stored_bytes : 1;
  const what = p.reclaim_bytes > 0
    ? `A run now would free ${bytes(p.reclaim_bytes)}: ${containers(p.empty_containers)} hold nothing live and would be dropped, ` +
      `${containers(p.rewrite_containers)} are less than ${percent(p.threshold)} live and would be rewritten.`
    : 'A run now would free nothing: no deleted data is left to reclaim.';
  return h('div', {},
    h('p', {class: 'hk-plan-text'}, what),
    h('p', {class: 'muted small'}, `${bytes(p.live_bytes)} of ${bytes(p.stored_bytes)} stored is in use by items (${percent(live)}), ` +
      `in ${containers(p.containers)}. As of ${dateTime(p.at)}.`));
}

function every(min) {
  if (min === 60) return 'every hour';
  if (min % 1440 === 0) return min === 1440 ? 'every day' : `every ${min / 1440} days`;
  if (min % 60 === 0) return `every ${min / 60} hours`;
  return min === 1 ? 'every minute' : `every ${min} minutes`;
}

function autoLine(v, settings) {
  const hs = settings && settings.housekeeping;
  if (!hs) return null;
  const link = h('a', {href: '/settings', class: 'link'}, 'Change in Settings');
  if (!hs.auto) return h('p', {class: 'muted small hk-auto'}, 'Automatic housekeeping is off. ', link);
  const next = validTime(v.next_auto_check);
  return h('p', {class: 'muted small hk-auto'},
    `Automatic housekeeping is on: ${every(hs.interval_minutes)} it checks for space to reclaim and runs outside blackout windows`,
    next ? ` (next check at ${clock(next)}). ` : '. ', link);
}

function housekeepingSpec(app) {
  // What a run would free depends on every store's data: an admin's figure
  // (docs/security.md, "Figures").
  const isAdmin = app.allows('admin');
  const planBox = h('div', {'data-hk-plan': ''});
  const planBtn = h('button', {class: 'btn btn-small', type: 'button', 'data-action': 'hk-plan', onclick: async () => {
    planBtn.disabled = true;
    busy = true;
    replace(planBox, h('p', {class: 'muted'}, 'Looking at every container…'));
    try {
      mine = await api.get('/housekeeping/plan');
      replace(planBox, hkPlan(mine));
    } catch (err) {
      replace(planBox, banner(`Cannot run the dry run: ${err.message}`));
    }
    busy = false;
    planBtn.disabled = false;
  }}, 'What would it free?');
  let settings = null;
  let busy = false;
  let mine = null; // the dry run this page asked for
  const ready = api.get('/settings').then((s) => { settings = s; }).catch(() => {});
  return {
    ready,
    kind: 'hk', path: '/housekeeping', title: 'Housekeeping', noun: 'housekeeping',
    cancelText: 'What it reclaimed so far stays reclaimed; the rest waits for the next run.',
    about: 'Housekeeping gives back the space of deleted items: containers that hold only deleted data are dropped, and those ' +
      'mostly deleted have their live chunks copied forward first. It runs beside backups, slows down while they are busy, ' +
      'and waits while a blackout window is in force.',
    body: (v) => {
      // A dry run from before the last run or during this one is out of date.
      const plan = mine && (!v.plan || new Date(mine.at) >= new Date(v.plan.at)) ? mine : v.plan;
      const stale = plan && (ACTIVE.has(v.state) || (v.report && new Date(v.report.finished) >= new Date(plan.at)));
      if (!busy) {
        replace(planBox, hkPlan(stale ? null : plan));
        planBtn.disabled = !isAdmin || ACTIVE.has(v.state);
        planBtn.title = !isAdmin ? needRole('admin') : planBtn.disabled ? 'Housekeeping is running' : '';
      }
      return [
        stateRow(v, 'hk', 'Housekeeping has not run since the appliance started.',
          v.auto && v.state !== 'idle' ? h('span', {class: 'badge state-idle'}, 'Automatic') : null),
        hkProgress(v),
        h('div', {'data-hk-result': ''}, ACTIVE.has(v.state) ? null : hkReport(v.report, v.threshold)),
        h('div', {class: 'hk-dry'}, h('div', {class: 'hk-dry-head'}, h('h3', {}, 'Dry run'), planBtn), planBox),
        autoLine(v, settings)];
    },
  };
}

export function render(app) {
  const {el, body} = page({title: 'Jobs', subtitle: 'Background work on the chunk pool: space reclamation and scrubbing.',
    actions: [h('a', {href: '/tasks', class: 'btn', 'data-action': 'all-tasks'}, 'Past runs and their logs')]});
  const hk = jobCard(app, housekeepingSpec(app));
  const verify = jobCard(app, verifySpec);
  body.append(h('div', {class: 'grid-2 jobs-grid'}, hk.el, verify.el));
  return {el, dispose: () => { hk.dispose(); verify.dispose(); }};
}
