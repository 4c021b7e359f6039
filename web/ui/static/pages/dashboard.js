// The dashboard: capacity, dedup, throughput over time, recent events.

import {api, latestEvents} from '../api.js';
import {h, replace} from '../dom.js';
import {bytes, rate, ratio, count, duration, ago, date, dateTime, percent, sentence} from '../format.js';
import {lineChart, gauge} from '../chart.js';
import {page, card, banner, poll, levelBadge, loading, healthBadge} from './common.js';
import {stateBadge, lagText} from './replication.js';

const REFRESH_MS = 10000;
const INGEST = '#0b6bcb';
const RESTORE = '#1a7f5a';

function kpi(label, value, raw, sub, key) {
  return h('div', {class: 'kpi', 'data-kpi': key, 'data-value': raw},
    h('div', {class: 'kpi-label'}, label),
    h('div', {class: 'kpi-value'}, value),
    sub ? h('div', {class: 'kpi-sub'}, sub) : null);
}

// capacityCard is the pool's capacity, for administrators; anyone else
// gets the status of the stores he may read (scope "stores"), without the
// pool's figures, and a note saying so.
function capacityCard(st, hk) {
  if (st.capacity_bytes === undefined) {
    return card('Capacity', h('div', {'data-scope': st.scope || ''},
      h('p', {class: 'muted'}, 'The appliance\'s capacity and the figures of its pool are shown to administrators.'),
      h('p', {class: 'muted'}, `The figures on this page are those of the ${count(st.stores)} stores you may read.`)),
    {cls: 'card-capacity'});
  }
  const plan = hk && hk.plan;
  const free = Math.max(0, st.capacity_bytes - st.stored_bytes);
  return card('Capacity', h('div', {class: 'capacity'},
    gauge(st.stored_bytes, st.capacity_bytes),
    h('dl', {class: 'facts'},
      h('dt', {}, 'Stored'), h('dd', {'data-kpi': 'stored', 'data-value': st.stored_bytes}, bytes(st.stored_bytes)),
      h('dt', {}, 'Free'), h('dd', {}, bytes(free)),
      h('dt', {}, 'Capacity'), h('dd', {}, bytes(st.capacity_bytes)),
      h('dt', {}, 'Volumes'), h('dd', {}, count(st.volumes)),
      plan ? h('dt', {title: `What housekeeping would free, as of its last dry run (${dateTime(plan.at)})`}, 'Reclaimable') : null,
      plan ? h('dd', {'data-kpi': 'reclaimable', 'data-value': plan.reclaim_bytes}, h('a', {href: '/jobs'}, bytes(plan.reclaim_bytes))) : null)),
  {cls: 'card-capacity'});
}

function dedupCard(st) {
  const saved = Math.max(0, st.logical_bytes - st.stored_bytes);
  const frac = st.logical_bytes > 0 ? saved / st.logical_bytes : 0;
  const stored = st.logical_bytes > 0 ? Math.min(1, st.stored_bytes / st.logical_bytes) : 0;
  return card('Deduplication', h('div', {class: 'dedup'},
    kpi('Dedup ratio', ratio(st.dedup_ratio), st.dedup_ratio,
      st.logical_bytes > 0 ? `${bytes(saved)} saved (${percent(frac)})` : 'No data written yet', 'dedup'),
    h('div', {class: 'bars'},
      h('div', {class: 'bar-row'}, h('span', {class: 'bar-label'}, 'Logical'),
        h('div', {class: 'bar'}, h('div', {class: 'bar-fill bar-logical', style: {width: st.logical_bytes > 0 ? '100%' : '0'}})),
        h('span', {class: 'bar-value', 'data-kpi': 'logical', 'data-value': st.logical_bytes}, bytes(st.logical_bytes))),
      h('div', {class: 'bar-row'}, h('span', {class: 'bar-label'}, 'Stored'),
        h('div', {class: 'bar'}, h('div', {class: 'bar-fill bar-stored', style: {width: `${(stored * 100).toFixed(2)}%`}})),
        h('span', {class: 'bar-value'}, bytes(st.stored_bytes))))));
}

function contentCard(st) {
  return card('Content', h('div', {class: 'kpi-grid'},
    kpi('Items', count(st.items), st.items, null, 'items'),
    kpi('Stores', count(st.stores), st.stores, null, 'stores'),
    st.containers !== undefined ? kpi('Containers', count(st.containers), st.containers, null, 'containers') : null,
    kpi('Uptime', duration(st.uptime_seconds), st.uptime_seconds, null, 'uptime')));
}

function trafficCard(st) {
  if (st.new_chunks === undefined) return null;
  const dupTotal = st.new_chunks + st.dup_chunks;
  return card('Since the appliance started', h('dl', {class: 'facts facts-wide'},
    h('dt', {}, 'Ingested'), h('dd', {}, bytes(st.ingested_bytes)),
    h('dt', {}, 'Restored'), h('dd', {}, bytes(st.restored_bytes)),
    h('dt', {}, 'New chunks'), h('dd', {}, count(st.new_chunks)),
    h('dt', {}, 'Duplicate chunks'), h('dd', {}, `${count(st.dup_chunks)}${dupTotal ? ` (${percent(st.dup_chunks / dupTotal)})` : ''}`)));
}

// catalystCard is the client-side dedup traffic since the appliance started.
function catalystCard(cat) {
  if (!cat || !cat.enabled) return null;
  const saved = cat.logical_in > 0 ? Math.max(0, 1 - cat.bytes_in / cat.logical_in) : 0;
  return card('Catalyst traffic', h('dl', {class: 'facts facts-wide', 'data-catalyst': ''},
    h('dt', {}, 'Backups received'), h('dd', {}, `${count(cat.puts)} (${count(cat.puts_low)} low bandwidth)`),
    h('dt', {}, 'Logical bytes'), h('dd', {'data-kpi': 'catalyst-logical', 'data-value': cat.logical_in}, bytes(cat.logical_in)),
    h('dt', {}, 'Received on the wire'), h('dd', {'data-kpi': 'catalyst-wire', 'data-value': cat.bytes_in},
      cat.logical_in > 0 ? `${bytes(cat.bytes_in)} (${percent(saved)} not sent)` : bytes(cat.bytes_in)),
    h('dt', {}, 'Restores'), h('dd', {}, `${count(cat.gets)}, ${bytes(cat.bytes_out)} sent`),
    h('dt', {}, 'Active streams'), h('dd', {}, count(cat.active_streams))),
  {actions: h('a', {href: '/catalyst', class: 'link'}, 'Catalyst')});
}

// The ranges of the history charts, as GET /status/history?range= takes them.
const RANGES = [['day', 'Day'], ['week', 'Week'], ['month', 'Month'], ['year', 'Year']];
const STORED = '#0b6bcb';
const LOGICAL = '#7a5af8';
const CAPACITY = '#c2410c';
const RATIO = '#1a7f5a';

// projectionNote says when the appliance is projected to be full, from
// the API's linear fit of stored bytes over the range.
function projectionNote(p) {
  if (!p) {
    return h('p', {class: 'muted projection', 'data-projection': 'none'},
      'Stored bytes are not growing over this range: no date when the appliance is full.');
  }
  const days = Math.round(p.days_left);
  const when = p.days_left < 1 ? 'Full within a day' : `Full in ~${count(days)} ${days === 1 ? 'day' : 'days'}, about ${date(p.full_at)}`;
  return h('p', {class: 'projection', 'data-projection': p.full_at, title: 'A straight line fitted to stored bytes over the range, up to the capacity'},
    h('strong', {}, when), ` — stored bytes grow ${bytes(p.growth_bytes_per_day)} a day over this range, of ${bytes(p.capacity_bytes)}.`);
}

// historyRows charts the history of the range: stored and logical bytes
// (with the capacity when the data come near it), the dedup ratio, and
// the throughput; for administrators only (the API gives anyone else no
// samples).
function historyRows(hist, range, setRange) {
  if (hist && hist.scope === 'stores') return null;
  const samples = (hist && hist.samples) || [];
  const times = samples.map((x) => new Date(x.time));
  const interval = hist && hist.interval_seconds ? hist.interval_seconds : 60;
  const every = interval >= 60 ? `${interval / 60} min` : `${interval} s`;
  const emptyText = `The appliance samples its figures every ${every}; the chart appears after two samples.`;
  const spanNote = times.length > 1 ? `${dateTime(times[0])} – ${dateTime(times[times.length - 1])}` : '';
  const note = {actions: h('span', {class: 'muted small'}, spanNote)};
  const stored = samples.map((x) => x.stored_bytes);
  const logical = samples.map((x) => x.logical_bytes);
  const capacity = samples.map((x) => x.capacity_bytes || 0);
  const top = Math.max(0, ...stored, ...logical);
  const sizes = [{name: 'Stored', color: STORED, values: stored}, {name: 'Logical', color: LOGICAL, values: logical}];
  if (top > 0 && Math.max(0, ...capacity) <= 2 * top) sizes.push({name: 'Capacity', color: CAPACITY, values: capacity, dashed: true});
  const tabs = h('div', {class: 'tabs', role: 'tablist', 'aria-label': 'History range'},
    RANGES.map(([k, label]) => h('button', {type: 'button', role: 'tab', class: 'tab', 'data-range': k,
      'aria-selected': String(k === range), onclick: () => setRange(k)}, label)));
  return h('div', {class: 'history', 'data-history': range},
    h('div', {class: 'tabs-row'}, hist ? projectionNote(hist.projection) : h('span'), tabs),
    h('div', {class: 'grid-2'},
      card('Stored and logical', lineChart({times, format: bytes, empty: emptyText, minTop: 1024 * 1024, series: sizes}),
        {...note, cls: 'card-history-size'}),
      card('Dedup ratio', lineChart({times, format: (v) => (v === 0 ? '0' : ratio(v)), empty: emptyText, minTop: 1,
        series: [{name: 'Dedup ratio', color: RATIO, values: samples.map((x) => x.dedup_ratio || 0)}]}),
      {actions: h('span', {class: 'muted small'}, spanNote), cls: 'card-history-ratio'})),
    h('div', {class: 'grid-2'},
      card('Ingest throughput', lineChart({times, format: rate, empty: emptyText, minTop: 1024 * 1024,
        series: [{name: 'Ingest', color: INGEST, values: samples.map((x) => x.ingest_bytes_per_second || 0)}]}),
      {actions: h('span', {class: 'muted small'}, spanNote)}),
      card('Restore throughput', lineChart({times, format: rate, empty: emptyText, minTop: 1024 * 1024,
        series: [{name: 'Restore', color: RESTORE, values: samples.map((x) => x.restore_bytes_per_second || 0)}]}),
      {actions: h('span', {class: 'muted small'}, spanNote)})));
}

// replicationCard sums up the mappings; absent when there are none.
function replicationCard(maps) {
  if (!maps || maps.length === 0) return null;
  const pending = maps.reduce((n, m) => n + m.items_pending, 0);
  return card('Replication', h('div', {},
    h('div', {class: 'kpi-grid'},
      kpi('Mappings', count(maps.length), maps.length, null, 'repl-mappings'),
      kpi('Items pending', count(pending), pending, null, 'repl-pending'),
      kpi('Replicated', bytes(maps.reduce((n, m) => n + m.logical_bytes, 0)), null,
        `${bytes(maps.reduce((n, m) => n + m.wire_bytes, 0))} on the wire`, 'repl-logical')),
    h('ul', {class: 'event-list'}, maps.map((m) => h('li', {class: 'event-item', 'data-mapping': m.name},
      stateBadge(m), h('span', {class: 'event-msg'}, `${m.name}: ${m.source_store} → ${m.target_store} at ${m.target}`),
      h('span', {class: 'muted small'}, lagText(m)))))),
  {actions: h('a', {href: '/replication', class: 'link'}, 'Replication')});
}

// partLabel names a health part: "share:NAME" and "library:NAME" are the
// shares and libraries that could not open, "replication:NAME" a mapping;
// the others are services, capacity and verify.
function partLabel(name) {
  const [kind, rest] = name.split(/:(.*)/s);
  if (kind === 'share' && rest) return h('a', {href: '/shares'}, `Share ${rest}`);
  if (kind === 'library' && rest) return h('a', {href: `/libraries/${encodeURIComponent(rest)}`}, `Library ${rest}`);
  if (kind === 'replication' && rest) return h('a', {href: '/replication'}, `Replication ${rest}`);
  if (name === 'verify') return h('a', {href: '/jobs'}, 'Verify');
  return sentence(name);
}

// damagedItem is one damaged item as users know it: a share's file, a
// library's cartridge, else a store's item.
function damagedItem(d) {
  let what;
  if (d.share) {
    what = [h('a', {href: '/shares'}, `Share ${d.share}`), ' ', h('span', {class: 'mono'}, d.path)];
  } else if (d.library) {
    what = [h('a', {href: `/libraries/${encodeURIComponent(d.library)}`}, `Library ${d.library}`), ', cartridge ',
      h('span', {class: 'mono'}, d.barcode)];
  } else {
    what = [h('a', {href: `/stores/${encodeURIComponent(d.store)}`}, `Store ${d.store}`), ' ', h('span', {class: 'mono'}, d.item)];
  }
  return h('li', {class: 'damage-item', 'data-damaged': d.name}, ...what);
}

// healthCard is the appliance's health: "Healthy", or each part that is
// not ok with why and since when, and the damaged items the last verify
// found, by share path or cartridge.
function healthCard(health) {
  const hr = health || {state: 'ok', components: [], damage: []};
  const parts = hr.components || [];
  const damage = hr.damage || [];
  const bad = parts.filter((p) => p.state !== 'ok');
  const content = bad.length === 0
    ? h('p', {class: 'health-ok'}, `Every part is working: ${parts.map((p) => p.name).join(', ') || 'the engine'}.`)
    : h('ul', {class: 'event-list health-list'}, bad.map((p) => h('li', {class: 'event-item', 'data-part': p.name},
      healthBadge(p.state),
      h('span', {class: 'health-part'}, h('strong', {}, partLabel(p.name)),
        p.reason ? h('span', {class: 'health-reason', title: p.reason}, ` — ${p.reason}`) : null),
      h('time', {datetime: p.since, title: dateTime(p.since)}, ago(p.since)))));
  const damageList = damage.length === 0 ? null : h('div', {class: 'health-damage'},
    h('h3', {}, `Damaged ${damage.length === 1 ? 'item' : 'items'}: cannot be restored intact`),
    h('p', {class: 'muted small'}, 'Found by the last verify; listed until a verify runs clean or the items are deleted. ' +
      'Write them again from the source.'),
    h('ul', {class: 'damage-list'}, damage.map(damagedItem)));
  const box = card('Health', h('div', {}, content, damageList), {cls: `card-health health-${hr.state}`,
    actions: h('span', {'data-health': hr.state}, healthBadge(hr.state))});
  box.id = 'health';
  return box;
}

function eventsCard(list) {
  const content = list.length === 0
    ? h('div', {class: 'empty empty-small'}, h('p', {}, 'No events yet.'))
    : h('ul', {class: 'event-list'}, list.map((e) => h('li', {class: 'event-item'},
      levelBadge(e.level),
      h('span', {class: 'event-msg', title: e.message}, sentence(e.message || e.action)),
      h('time', {datetime: e.time, title: dateTime(e.time)}, ago(e.time)))));
  return card('Recent events', content, {actions: h('a', {href: '/events', class: 'link'}, 'All events')});
}

export function render(app) {
  const {el, body} = page({title: 'Dashboard', subtitle: 'How full the appliance is, what dedup saves, and what happened lately.'});
  const status = h('div', {class: 'dash'}, loading());
  const updated = h('span', {class: 'muted small', 'data-updated': ''});
  el.querySelector('.page-actions').append(updated);
  body.append(status);
  let cursor;
  let range = 'day';

  const refresh = async () => {
    let st;
    let hist = null;
    let events = [];
    try {
      st = await api.get('/status');
    } catch (err) {
      replace(status, banner(`Cannot load the appliance status: ${err.message}`));
      return;
    }
    app.showHealth(st.health); // the header's badge says what the health card says
    const shown = range;
    try { hist = await api.get(`/status/history?range=${shown}`); } catch { hist = null; }
    let hk = null;
    try { hk = await api.get('/housekeeping'); } catch { hk = null; }
    let cat = null;
    try { cat = await api.get('/catalyst'); } catch { cat = null; }
    let maps = null;
    try { maps = await api.get('/replication/mappings'); } catch { maps = null; }
    try {
      const r = await latestEvents('system', 8, cursor);
      cursor = r.cursor;
      events = r.events;
    } catch { events = []; }
    replace(status,
      healthCard(st.health),
      h('div', {class: 'grid-3'}, capacityCard(st, hk), dedupCard(st), contentCard(st)),
      historyRows(hist, shown, setRange),
      h('div', {class: 'grid-2'}, eventsCard(events), h('div', {class: 'stack'}, trafficCard(st), catalystCard(cat))),
      replicationCard(maps));
    updated.textContent = `Updated ${dateTime(new Date())} · refreshes every ${REFRESH_MS / 1000} s`;
  };
  const setRange = (k) => { range = k; poller.now(); };
  const poller = poll(refresh, REFRESH_MS);
  return {el, dispose: () => poller.stop()};
}
