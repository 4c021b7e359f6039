// The replication page: this appliance's identity, its mappings (as a
// source) with their status, the sources it trusts and the replicas it
// holds (as a target), and the appliance-wide bandwidth limit.

import {api, seg} from '../api.js';
import {h, replace, formDialog, confirmDialog, field, toast} from '../dom.js';
import {bytes, rate, count, dateTime, ago, duration} from '../format.js';
import {page, card, banner, empty, table, loading, needRole, poll} from './common.js';

const REFRESH_MS = 5000;

// stateLevel maps a mapping state to a badge colour.
const STATE_LEVEL = {idle: 'info', running: 'info', blackout: 'warning', paused: 'warning', reversed: 'warning', error: 'error'};

export const stateBadge = (m) => h('span', {class: `badge level-${STATE_LEVEL[m.state] || 'info'}`, 'data-state': m.state}, m.state);

// lagText says how far behind a mapping is.
export const lagText = (m) => (m.items_pending === 0 ? 'caught up' : duration(Math.round(m.lag_seconds)));

const shortFp = (fp) => (fp ? `${fp.slice(0, 16)}…` : '–');

export function render(app) {
  const canOp = app.allows('operator');
  const isAdmin = app.allows('admin');
  const newBtn = h('button', {class: 'btn btn-primary', type: 'button', disabled: !canOp,
    title: canOp ? 'Replicate a store to another appliance' : needRole('operator'), 'data-action': 'create-mapping',
    onclick: () => create()}, 'New mapping');
  const {el, body} = page({
    title: 'Replication',
    subtitle: 'Stores copied to other Backstop appliances without rehydration: only the chunks a target lacks cross the wire.',
    actions: [newBtn],
  });
  const notice = h('div', {});
  const content = h('div', {}, loading());
  body.append(notice, content);
  let stores = [];

  const load = async () => {
    let id;
    let maps;
    let replicas;
    let settings;
    let sources = null;
    try {
      id = await api.get('/replication/identity');
      [maps, replicas, settings] = await Promise.all([api.get('/replication/mappings'),
        api.get('/replication/replicas'), api.get('/replication/settings')]);
      if (isAdmin) sources = await api.get('/replication/sources');
      stores = ((await api.get('/stores')) || []).map((s) => s.name);
    } catch (err) {
      replace(content, banner(`Cannot load replication: ${err.message}`));
      return;
    }
    replace(content,
      mappingsCard(maps || []),
      h('div', {class: 'grid-2'}, replicasCard(replicas || []), identityCard(id, settings)),
      isAdmin ? sourcesCard(sources || []) : null);
  };

  const act = async (what, fn) => {
    replace(notice);
    try {
      await fn();
      toast(what);
    } catch (err) {
      replace(notice, banner(err.message));
    }
    poller.now();
  };

  const mappingsCard = (maps) => {
    if (maps.length === 0) {
      return card('Mappings', empty('No mappings',
        'A mapping copies a store (or the items whose names start with a prefix) to a store of another appliance, continuously or on a schedule.',
        canOp ? h('button', {class: 'btn btn-primary', type: 'button', onclick: () => create()}, 'New mapping') : null));
    }
    return card(`${maps.length} ${maps.length === 1 ? 'mapping' : 'mappings'}`, table([
      {label: 'Name', cell: (m) => h('strong', {}, m.name)},
      {label: 'Source', cell: (m) => [m.source_store, m.filter ? h('span', {class: 'muted small'}, ` ${m.filter}*`) : null]},
      {label: 'Target', cell: (m) => [m.target_store, h('div', {class: 'muted small'}, m.target)]},
      {label: 'State', cell: (m) => [stateBadge(m), m.last_error && m.state === 'error'
        ? h('div', {class: 'muted small', title: m.last_error}, m.last_error.slice(0, 60)) : null]},
      {label: 'Pending', cls: 'num', cell: (m) => h('span', {'data-pending': m.items_pending},
        `${count(m.items_pending)} items`, h('div', {class: 'muted small'}, bytes(m.bytes_pending)))},
      {label: 'Lag', cls: 'num', cell: (m) => lagText(m)},
      {label: 'Last success', cell: (m) => (m.last_success && !m.last_success.startsWith('0001')
        ? h('time', {datetime: m.last_success, title: dateTime(m.last_success)}, ago(m.last_success)) : 'never')},
      {label: 'Replicated', cls: 'num', cell: (m) => [bytes(m.logical_bytes),
        h('div', {class: 'muted small'}, `${bytes(m.wire_bytes)} on the wire`)]},
      {label: 'Wire / logical', cls: 'num', cell: (m) => (m.logical_bytes > 0 ? m.wire_ratio.toFixed(3) : '–')},
      {label: 'Last pass', cls: 'num', cell: (m) => (m.throughput_bytes_per_sec > 0 ? rate(m.throughput_bytes_per_sec) : '–')},
      {label: 'Errors', cls: 'num', cell: (m) => count(m.errors)},
      {label: '', cls: 'actions', cell: (m) => mappingActions(m)},
    ], maps, {rowAttrs: (m) => ({'data-mapping': m.name})}));
  };

  const mappingActions = (m) => {
    const btn = (label, action, allowed, role, fn) => h('button', {class: 'btn btn-small', type: 'button',
      disabled: !allowed, title: allowed ? label : needRole(role), 'data-action': action, onclick: fn}, label);
    const path = `/replication/mappings/${seg(m.name)}`;
    return [
      btn('Sync now', 'sync', canOp && !m.reversed, 'operator', () => act(`Mapping ${m.name} queued.`, () => api.post(`${path}/sync`))),
      btn(m.paused ? 'Resume' : 'Pause', 'pause', canOp, 'operator',
        () => act(`Mapping ${m.name} ${m.paused ? 'resumed' : 'paused'}.`, () => api.patch(path, {paused: !m.paused}))),
      m.reversed
        ? btn('End failback', 'resume', isAdmin, 'admin', () => act(`Mapping ${m.name} resumed.`, () => api.post(`${path}/resume`)))
        : btn('Reverse', 'reverse', isAdmin, 'admin', () => reverse(m)),
      h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: !isAdmin,
        title: isAdmin ? `Delete ${m.name}` : needRole('admin'), 'data-action': 'delete-mapping', onclick: () => remove(m)}, 'Delete'),
    ];
  };

  const replicasCard = (reps) => card('Replicas held here', reps.length === 0
    ? h('div', {class: 'empty empty-small'}, h('p', {}, 'No other appliance replicates into this one.'))
    : table([
      {label: 'Store', cell: (r) => h('a', {href: `/stores/${seg(r.store)}`, class: 'strong-link'}, r.store)},
      {label: 'Source', cell: (r) => [r.source_store || '–', h('div', {class: 'muted small', title: r.source_fingerprint}, shortFp(r.source_fingerprint))]},
      {label: 'Domain', cell: (r) => h('span', {class: 'tag'}, r.domain)},
      {label: 'State', cell: (r) => h('span', {class: `badge level-${r.promoted ? 'warning' : 'info'}`}, r.promoted ? 'promoted' : 'read-only')},
      {label: 'Last received', cell: (r) => (r.last_received && !r.last_received.startsWith('0001') ? ago(r.last_received) : '–')},
      {label: '', cls: 'actions', cell: (r) => h('button', {class: 'btn btn-small', type: 'button', disabled: !isAdmin || r.promoted,
        title: !isAdmin ? needRole('admin') : 'Failover: make the copy writable', 'data-action': 'promote', onclick: () => promote(r)}, 'Promote')},
    ], reps, {rowAttrs: (r) => ({'data-replica': r.store})}));

  const identityCard = (id, settings) => card('This appliance', h('dl', {class: 'facts facts-wide'},
    h('dt', {}, 'Certificate SHA-256'), h('dd', {class: 'mono', 'data-fingerprint': id.fingerprint}, id.fingerprint),
    h('dt', {}, 'Bandwidth limit'), h('dd', {}, settings.limit_bytes_per_sec > 0 ? rate(settings.limit_bytes_per_sec) : 'none',
      ' ', h('button', {class: 'btn btn-small', type: 'button', disabled: !isAdmin, title: isAdmin ? 'Change' : needRole('admin'),
        onclick: () => setLimit(settings)}, 'Change'))));

  const sourcesCard = (srcs) => card('Trusted sources', srcs.length === 0
    ? empty('No trusted sources', 'An appliance replicates into this one once it is trusted here by its certificate fingerprint (shown on its Replication page).',
      h('button', {class: 'btn', type: 'button', onclick: () => trust()}, 'Trust a source'))
    : table([
      {label: 'Name', cell: (s) => s.name},
      {label: 'Certificate SHA-256', cell: (s) => h('span', {class: 'mono small'}, s.fingerprint)},
      {label: 'Added', cell: (s) => dateTime(s.added)},
      {label: '', cls: 'actions', cell: (s) => h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button',
        onclick: () => untrust(s)}, 'Remove')},
    ], srcs), {actions: srcs.length ? h('button', {class: 'btn btn-small', type: 'button', onclick: () => trust()}, 'Trust a source') : null});

  const create = () => formDialog({
    title: 'New mapping',
    intro: 'The target must trust this appliance first (its Replication page, Trusted sources).',
    submitLabel: 'Create mapping',
    fields: [
      field('Name', h('input', {name: 'name', required: true, maxlength: 64, autocomplete: 'off'})),
      field('Source store', h('select', {name: 'source_store'}, stores.map((s) => h('option', {value: s}, s)))),
      field('Item filter', h('input', {name: 'filter', autocomplete: 'off'}), 'Only items whose names start with this; empty for all.'),
      field('Target address', h('input', {name: 'target', required: true, placeholder: 'backstop-dr:9389', autocomplete: 'off'})),
      field('Target certificate SHA-256', h('input', {name: 'target_fingerprint', required: true, autocomplete: 'off', spellcheck: 'false'}),
        'From the target\'s Replication page.'),
      field('Target store', h('input', {name: 'target_store', required: true, maxlength: 64, autocomplete: 'off'}),
        'Created on the target as a read-only replica.'),
      field('Schedule', h('input', {name: 'every', placeholder: 'continuous', autocomplete: 'off'}), 'Empty: continuous. Or an interval such as 6h.'),
      field('Bandwidth limit (MiB/s)', h('input', {name: 'limit', type: 'number', min: 0, step: 'any', value: 0}), '0: no limit.'),
    ],
    submit: async (d) => api.post('/replication/mappings', {
      name: d.name.trim(), source_store: d.source_store, filter: d.filter, target: d.target.trim(),
      target_fingerprint: d.target_fingerprint.trim(), target_store: d.target_store.trim(), every: d.every.trim(),
      limit_bytes_per_sec: Math.round((Number(d.limit) || 0) * 1048576)}),
  }).then((m) => { if (m) { toast(`Mapping ${m.name} created.`); poller.now(); } });

  const reverse = async (m) => {
    const ok = await confirmDialog({title: `Reverse ${m.name}?`, confirm: 'Reverse', message:
      `Failback: store ${m.source_store} becomes a read-only replica of ${m.target}, which then replicates its store back here, sending only what differs. Do this after the target was promoted.`});
    if (ok) act(`Mapping ${m.name} reversed.`, () => api.post(`/replication/mappings/${seg(m.name)}/reverse`));
  };
  const remove = async (m) => {
    const ok = await confirmDialog({title: `Delete mapping ${m.name}?`, confirm: 'Delete mapping',
      message: `Replication of ${m.source_store} stops. The target keeps its copy, which it can promote.`});
    if (ok) act(`Mapping ${m.name} deleted.`, () => api.del(`/replication/mappings/${seg(m.name)}`));
  };
  const promote = async (r) => {
    const ok = await confirmDialog({title: `Promote ${r.store}?`, confirm: 'Promote',
      message: `Failover: ${r.store} becomes writable here and refuses replication from its source from now on.`});
    if (ok) act(`Replica ${r.store} promoted.`, () => api.post(`/replication/replicas/${seg(r.store)}/promote`));
  };
  const trust = () => formDialog({
    title: 'Trust a source',
    fields: [
      field('Name', h('input', {name: 'name', required: true, maxlength: 64, autocomplete: 'off'})),
      field('Certificate SHA-256', h('input', {name: 'fingerprint', required: true, autocomplete: 'off', spellcheck: 'false'})),
    ],
    submitLabel: 'Trust',
    submit: async (d) => api.post('/replication/sources', {name: d.name.trim(), fingerprint: d.fingerprint.trim()}),
  }).then((s) => { if (s) { toast(`Source ${s.name} trusted.`); poller.now(); } });
  const untrust = async (s) => {
    const ok = await confirmDialog({title: `Stop trusting ${s.name}?`, confirm: 'Remove',
      message: 'Its replicas stay here; it can no longer write them.'});
    if (ok) act(`Source ${s.name} removed.`, () => api.del(`/replication/sources/${seg(s.name)}`));
  };
  const setLimit = (settings) => formDialog({
    title: 'Replication bandwidth limit',
    intro: 'All outgoing replication together; each mapping may have its own limit too.',
    fields: [field('MiB/s', h('input', {name: 'limit', type: 'number', min: 0, step: 'any',
      value: (settings.limit_bytes_per_sec / 1048576) || 0}), '0: no limit.')],
    submit: async (d) => api.put('/replication/settings', {limit_bytes_per_sec: Math.round((Number(d.limit) || 0) * 1048576)}),
  }).then((r) => { if (r) { toast('Limit saved.'); poller.now(); } });

  const poller = poll(load, REFRESH_MS);
  return {el, dispose: () => poller.stop()};
}
