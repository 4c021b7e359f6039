// The Alerts section of the settings page (administrators): notification
// targets (webhook, e-mail, syslog), their rules, and a test message.

import {api} from '../api.js';
import {h, replace, formDialog, confirmDialog, field, toast} from '../dom.js';
import {card, banner, empty, table, loading} from './common.js';

const TYPES = [['webhook', 'Webhook (JSON POST)'], ['email', 'E-mail (SMTP)'], ['syslog', 'Syslog (RFC 5424)']];
const LEVELS = [['info', 'Info and above'], ['warning', 'Warning and above'], ['error', 'Errors only']];
const list = (text) => String(text || '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
const select = (name, options, value) => h('select', {name},
  options.map(([v, label]) => h('option', {value: v, selected: v === value}, label)));

// where names a target's destination in the table.
function where(t) {
  if (t.webhook) return t.webhook.url;
  if (t.email) return `${(t.email.to || []).join(', ')} via ${t.email.host}:${t.email.port || 587}`;
  if (t.syslog) return `${t.syslog.network}://${t.syslog.address}`;
  return '';
}

function rule(t) {
  const level = (LEVELS.find(([v]) => v === (t.min_level || 'warning')) || [])[1];
  const only = [...(t.kinds || []), ...(t.actions || [])];
  return only.length ? `${level}; only ${only.join(', ')}` : level;
}

// fields are the dialog's inputs for target t (empty for a new one).
function fields(t = {}) {
  const w = t.webhook || {}, e = t.email || {}, s = t.syslog || {};
  const type = t.type || 'webhook';
  const group = (name, ...children) => h('fieldset', {class: 'alert-type', 'data-type': name, hidden: name !== type},
    h('legend', {}, (TYPES.find(([v]) => v === name) || [])[1]), ...children);
  const typeSel = select('type', TYPES, type);
  typeSel.addEventListener('change', () => {
    for (const fs of typeSel.form.querySelectorAll('fieldset.alert-type')) fs.hidden = fs.dataset.type !== typeSel.value;
  });
  return [
    field('Name', h('input', {name: 'name', required: true, value: t.name || '', maxlength: 32, pattern: '[a-z0-9][a-z0-9._\\-]*',
      readonly: !!t.name, autocomplete: 'off', spellcheck: 'false'}), 'Lower-case letters, digits, dot, dash, underscore.'),
    field('Type', typeSel),
    field('Send', select('min_level', LEVELS, t.min_level || 'warning'), 'Events of at least this level.'),
    field('Only these actions', h('input', {name: 'actions', value: (t.actions || []).join(', '), autocomplete: 'off',
      spellcheck: 'false', placeholder: 'all'}), 'e.g. verify.*, health.change, dedup.drop; empty for every action.'),
    group('webhook',
      field('URL', h('input', {name: 'url', value: w.url || '', placeholder: 'https://hooks.example.net/backstop', autocomplete: 'off'})),
      field('CA certificate (PEM)', h('textarea', {name: 'wh_ca', rows: 3}, w.ca_pem || ''), 'For a receiver with a private CA; empty for the system’s.')),
    group('email',
      field('SMTP server', h('input', {name: 'host', value: e.host || '', placeholder: 'smtp.example.net', autocomplete: 'off'})),
      field('Port', h('input', {name: 'port', type: 'number', min: 1, max: 65535, value: String(e.port || 587), class: 'input-narrow'})),
      field('STARTTLS', select('starttls', [['auto', 'When the server offers it'], ['required', 'Required'], ['off', 'Never']], e.starttls || 'auto')),
      field('From', h('input', {name: 'from', value: e.from || '', placeholder: 'backstop@example.net', autocomplete: 'off'})),
      field('To', h('input', {name: 'to', value: (e.to || []).join(', '), placeholder: 'ops@example.net', autocomplete: 'off'}), 'Addresses, separated by commas.'),
      field('User name', h('input', {name: 'username', value: e.username || '', autocomplete: 'off'}), 'Empty: no authentication.'),
      field('Password', h('input', {name: 'password', type: 'password', autocomplete: 'new-password',
        placeholder: t.password_set ? 'unchanged' : ''}), t.password_set ? 'Leave empty to keep the saved password.' : undefined)),
    group('syslog',
      field('Transport', select('network', [['udp', 'UDP'], ['tcp', 'TCP (octet counting)']], s.network || 'udp')),
      field('Address', h('input', {name: 'address', value: s.address || '', placeholder: 'syslog.example.net:514', autocomplete: 'off'})),
      field('Facility', h('input', {name: 'facility', value: s.facility || '', placeholder: 'local0', autocomplete: 'off'}))),
  ];
}

// target reads the dialog into a target.
function target(d) {
  const t = {name: (d.name || '').trim(), type: d.type, min_level: d.min_level, actions: list(d.actions)};
  if (d.type === 'webhook') t.webhook = {url: (d.url || '').trim(), ca_pem: d.wh_ca || ''};
  if (d.type === 'email') {
    t.email = {host: (d.host || '').trim(), port: Number(d.port) || 587, starttls: d.starttls, from: (d.from || '').trim(),
      to: list(d.to), username: (d.username || '').trim(), password: d.password || ''};
  }
  if (d.type === 'syslog') t.syslog = {network: d.network, address: (d.address || '').trim(), facility: (d.facility || '').trim()};
  return t;
}

// strip makes a target from GET fit for PUT.
const strip = ({password_set: _, ...t}) => t;

// alertsCard is the Alerts section; only admins see it.
export function alertsCard() {
  const notice = h('div', {});
  const box = h('div', {}, loading());
  let targets = [];
  let threshold = 0;
  const addBtn = h('button', {class: 'btn', type: 'button', 'data-action': 'add-alert', onclick: () => edit()}, 'Add target');

  const saveAll = async (next) => {
    const res = await api.put('/alerts', {login_threshold: threshold, targets: next.map(strip)});
    targets = res.targets || [];
    draw();
  };

  const send = async (t, btn) => {
    replace(notice);
    btn.disabled = true;
    try {
      const r = await api.post('/alerts/test', {name: t.name});
      if (r.delivered) toast(`Test message sent to ${t.name}.`);
      else replace(notice, banner(`The test message to ${t.name} was not delivered: ${r.error}`));
    } catch (err) {
      replace(notice, banner(`Cannot send a test message: ${err.message}`));
    } finally {
      btn.disabled = false;
    }
  };

  const edit = (old) => formDialog({
    title: old ? `Alert target ${old.name}` : 'New alert target',
    intro: 'Events that match the rule go to this target as they are recorded.',
    submitLabel: old ? 'Save' : 'Add target',
    fields: fields(old),
    submit: async (d) => {
      const t = target(d);
      const next = old ? targets.map((x) => (x.name === old.name ? t : x)) : [...targets, t];
      await saveAll(next);
      toast(`Alert target ${t.name} saved.`);
    },
  });

  const remove = async (t) => {
    if (!await confirmDialog({title: `Delete alert target ${t.name}?`, message: 'Alerts stop going there.'})) return;
    try {
      await saveAll(targets.filter((x) => x.name !== t.name));
      toast(`Alert target ${t.name} deleted.`);
    } catch (err) {
      replace(notice, banner(`Cannot delete: ${err.message}`));
    }
  };

  const draw = () => {
    if (targets.length === 0) {
      replace(box, empty('No alert targets', 'Add a webhook, an e-mail address or a syslog server to hear of damage, ' +
        'degraded parts, full capacity, failed jobs, repeated failed logins and a sudden drop of the dedup ratio.'));
      return;
    }
    replace(box, table([
      {label: 'Name', cell: (t) => h('strong', {}, t.name)},
      {label: 'Type', cell: (t) => h('span', {class: 'tag'}, t.type)},
      {label: 'Destination', cell: (t) => h('span', {class: 'small'}, where(t))},
      {label: 'Sends', cell: (t) => rule(t)},
      {label: '', cls: 'actions', cell: (t) => {
        const test = h('button', {class: 'btn btn-small', type: 'button', 'data-action': 'test-alert'}, 'Send test');
        test.addEventListener('click', () => send(t, test));
        return h('span', {}, test, ' ',
          h('button', {class: 'btn btn-small', type: 'button', 'data-action': 'edit-alert', onclick: () => edit(t)}, 'Edit'), ' ',
          h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', 'data-action': 'delete-alert',
            onclick: () => remove(t)}, 'Delete'));
      }},
    ], targets, {rowAttrs: (t) => ({'data-alert': t.name})}));
  };

  (async () => {
    try {
      const a = await api.get('/alerts');
      targets = a.targets || [];
      threshold = a.login_threshold || 0;
      draw();
    } catch (err) {
      replace(box, banner(`Cannot load the alert targets: ${err.message}`));
    }
  })();

  return card('Alerts', h('div', {},
    h('p', {class: 'muted'}, 'Where the appliance sends the events that need attention. By default a target gets every warning ' +
      'and error: damage found, a degraded component, capacity over 80/90/95%, replication lag, a failed verify or housekeeping, ' +
      'repeated failed logins, and a sudden drop of the dedup ratio of new backups (see docs/alerts.md).'),
    notice, box), {actions: addBtn});
}
