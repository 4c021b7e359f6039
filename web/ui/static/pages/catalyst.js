// The Catalyst page: the client-side dedup service's traffic, and each
// store's transfer policy, immutability and client permissions.

import {api, seg} from '../api.js';
import {h, replace, formDialog, field, toast} from '../dom.js';
import {bytes, count, ratio, percent} from '../format.js';
import {page, card, banner, table, loading, poll, needRole} from './common.js';

const REFRESH_MS = 10000;

function kpi(label, value, raw, key, sub) {
  return h('div', {class: 'kpi', 'data-kpi': key, 'data-value': raw},
    h('div', {class: 'kpi-label'}, label),
    h('div', {class: 'kpi-value'}, value),
    sub ? h('div', {class: 'kpi-sub'}, sub) : null);
}

function trafficCard(t) {
  if (!t.enabled) {
    return card('Catalyst service', h('p', {class: 'muted'}, 'The Catalyst service is off (backstop serve --catalyst off).'));
  }
  const refs = t.chunks_received + t.chunks_deduped;
  const saved = t.logical_in > 0 ? `${ratio(t.logical_in / Math.max(1, t.bytes_in))} logical per byte received` : 'No backup yet';
  return card(`Catalyst service on ${t.addr} (since start)`, h('div', {class: 'kpi-grid'},
    kpi('Received', bytes(t.bytes_in), t.bytes_in, 'catalyst-in', saved),
    kpi('Sent', bytes(t.bytes_out), t.bytes_out, 'catalyst-out'),
    kpi('Backed up', bytes(t.logical_in), t.logical_in, 'catalyst-logical'),
    kpi('Puts', count(t.puts), t.puts, 'catalyst-puts',
      `${count(t.puts_low)} low, ${count(t.puts_high)} high bandwidth; ${count(t.puts_failed)} failed`),
    kpi('Gets', count(t.gets), t.gets, 'catalyst-gets'),
    kpi('Chunks not sent', refs ? percent(t.chunks_deduped / refs) : '–', t.chunks_deduped, 'catalyst-deduped',
      `${count(t.chunks_received)} sent, ${count(t.chunks_deduped)} already stored`),
    kpi('Streams now', count(t.active_streams), t.active_streams, 'catalyst-streams')));
}

export function render(app) {
  const isAdmin = app.allows('admin');
  const {el, body} = page({
    title: 'Catalyst',
    subtitle: 'Client-side dedup backup: backup software sends only the chunks a store lacks (low bandwidth) or every byte (high bandwidth).',
  });
  const traffic = h('div', {}, loading());
  const notice = h('div', {});
  const list = h('div', {}, loading());
  body.append(traffic, notice, list);

  const load = async () => {
    try {
      replace(traffic, trafficCard(await api.get('/catalyst')));
    } catch (err) {
      replace(traffic, banner(`Cannot load the Catalyst figures: ${err.message}`));
    }
    let stores;
    try {
      stores = await api.get('/stores') || [];
    } catch (err) {
      replace(list, banner(`Cannot load the stores: ${err.message}`));
      return;
    }
    stores.sort((a, b) => a.name.localeCompare(b.name));
    replace(list, card('Stores', table([
      {label: 'Store', cell: (s) => h('a', {href: `/stores/${seg(s.name)}`, class: 'strong-link'}, s.name)},
      {label: 'Dedup domain', cell: (s) => h('span', {class: 'tag'}, s.domain)},
      {label: 'Transfer', cell: (s) => `${s.transfer || 'low'} bandwidth`},
      {label: 'Immutable', cell: (s) => (s.immutable_days > 0 ? `${count(s.immutable_days)} days` : 'off')},
      {label: 'Clients', cell: (s) => (s.clients && s.clients.length ? s.clients.join(', ') : 'every user')},
      {label: 'Items', cls: 'num', cell: (s) => count(s.items)},
      {label: 'Logical', cls: 'num', cell: (s) => bytes(s.logical_bytes)},
      {label: '', cls: 'actions', cell: (s) => h('button', {
        class: 'btn btn-small', type: 'button', disabled: !isAdmin, title: isAdmin ? `Options of ${s.name}` : needRole('admin'),
        'data-action': 'store-options', onclick: () => edit(s)}, 'Options')},
    ], stores, {rowAttrs: (s) => ({'data-store': s.name})})));
  };

  const edit = (s) => formDialog({
    title: `Options of ${s.name}`,
    submitLabel: 'Save',
    fields: [
      field('Transfer policy', h('select', {name: 'transfer'},
        h('option', {value: 'low', selected: s.transfer !== 'high'}, 'Low bandwidth (client-side dedup)'),
        h('option', {value: 'high', selected: s.transfer === 'high'}, 'High bandwidth (client sends every byte)'))),
      field('Immutable for (days)', h('input', {name: 'immutable_days', type: 'number', min: 0, max: 36500, value: s.immutable_days || 0}),
        'Items cannot be deleted or replaced by anyone, admins included, for this many days after they are stored. It cannot be lowered while the store holds items.'),
      field('Clients', h('input', {name: 'clients', value: (s.clients || []).join(', '), autocomplete: 'off', spellcheck: 'false'}),
        'User names allowed to use this store over Catalyst, separated by commas; empty for every user.'),
    ],
    submit: async (d) => api.put(`/stores/${seg(s.name)}/options`, {
      transfer: d.transfer,
      immutable_days: Number(d.immutable_days) || 0,
      clients: d.clients.split(',').map((x) => x.trim()).filter(Boolean),
    }),
  }).then((r) => {
    if (!r) return;
    toast(`Options of ${s.name} saved.`);
    load();
  });

  const poller = poll(load, REFRESH_MS);
  return {el, dispose: () => poller.stop()};
}
