// The shares page: SMB shares with their access, quota and figures;
// create, edit, delete.

import {api, seg} from '../api.js';
import {h, replace, formDialog, confirmDialog, field, toast} from '../dom.js';
import {bytes, ratio, count, dateTime} from '../format.js';
import {page, card, banner, empty, table, loading, needRole, degradedMark} from './common.js';

const ACCESS = [['read-write', 'Read and write'], ['read-only', 'Read only'], ['none', 'No access']];
const accessLabel = (a) => (ACCESS.find(([v]) => v === a) || [a, a])[1];

// parseSize reads "500G", "1.5 TiB", "1048576" (bytes); empty is 0 (none).
export function parseSize(text) {
  const t = String(text || '').trim();
  if (t === '') return 0;
  const m = t.match(/^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?$/i);
  if (!m) throw new Error(`Quota "${t}": a size such as 500G or 2T, or empty for none`);
  const mult = {'': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50}[m[2].toUpperCase()];
  return Math.round(Number(m[1]) * mult);
}

// sizeText writes a quota exactly, in the largest unit that divides it.
function sizeText(n) {
  if (!n) return '';
  for (const [u, m] of [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]]) {
    if (n % m === 0) return `${n / m}${u}iB`;
  }
  return String(n);
}

// userList turns "alice, bob" into names.
const userList = (text) => String(text || '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

const usersOf = (s, access) => Object.entries(s.users || {}).filter(([, a]) => a === access).map(([u]) => u).sort();

// accessFields are the inputs shared by the create and edit dialogs.
function accessFields(s = {}) {
  const def = s.default_access || 'read-write';
  return [
    field('Comment', h('input', {name: 'comment', value: s.comment || '', maxlength: 256, autocomplete: 'off'}),
      'Shown to SMB clients when they list the shares.'),
    field('Everyone else', h('select', {name: 'default_access'},
      ACCESS.map(([v, label]) => h('option', {value: v, selected: v === def}, label))),
    'The access of appliance users not named below.'),
    field('Read-write users', h('input', {name: 'rw', value: usersOf(s, 'read-write').join(', '), autocomplete: 'off', spellcheck: 'false'}),
      'Appliance user names, separated by commas.'),
    field('Read-only users', h('input', {name: 'ro', value: usersOf(s, 'read-only').join(', '), autocomplete: 'off', spellcheck: 'false'})),
    field('No-access users', h('input', {name: 'none', value: usersOf(s, 'none').join(', '), autocomplete: 'off', spellcheck: 'false'})),
    field('Quota', h('input', {name: 'quota', value: sizeText(s.quota_bytes), autocomplete: 'off',
      placeholder: 'none'}), 'Largest total size of the files, e.g. 500GiB or 2TiB; empty for no quota.'),
    h('div', {class: 'field'}, h('label', {}, h('input', {type: 'checkbox', name: 'encrypt_data', checked: !!s.encrypt_data}),
      ' Require SMB3 encryption (clients that cannot encrypt are refused)')),
    h('div', {class: 'field'}, h('label', {}, h('input', {type: 'checkbox', name: 'sign_required', checked: !!s.sign_required}),
      ' Require signed messages')),
  ];
}

// accessBody reads the dialog's access fields into request fields.
function accessBody(d) {
  const users = {};
  for (const [key, access] of [['none', 'none'], ['ro', 'read-only'], ['rw', 'read-write']]) {
    for (const u of userList(d[key])) users[u] = access;
  }
  return {
    comment: (d.comment || '').trim(),
    default_access: d.default_access,
    users,
    quota_bytes: parseSize(d.quota),
    encrypt_data: d.encrypt_data === 'on',
    sign_required: d.sign_required === 'on',
  };
}

function accessSummary(s) {
  const named = Object.keys(s.users || {}).length;
  return `${accessLabel(s.default_access)}${named ? ` · ${named} named ${named === 1 ? 'user' : 'users'}` : ''}`;
}

export function render(app) {
  const canWrite = app.allows('operator');
  const canDelete = app.allows('admin');
  const createBtn = h('button', {class: 'btn btn-primary', type: 'button', disabled: !canWrite,
    title: canWrite ? 'Create a share' : needRole('operator'), 'data-action': 'create-share',
    onclick: () => create()}, 'New share');
  const {el, body} = page({
    title: 'Shares',
    subtitle: 'SMB shares that backup software writes to. Every file is deduplicated inline against its dedup domain.',
    actions: [createBtn],
  });
  const notice = h('div', {});
  const list = h('div', {}, loading());
  body.append(notice, list);

  const load = async () => {
    let shares;
    try {
      shares = await api.get('/shares') || [];
    } catch (err) {
      replace(list, banner(`Cannot load the shares: ${err.message}`));
      return;
    }
    shares.sort((a, b) => a.name.localeCompare(b.name));
    if (shares.length === 0) {
      replace(list, card('', empty('No shares yet',
        'Create a share, then point a backup application at \\\\appliance\\share.',
        canWrite ? h('button', {class: 'btn btn-primary', type: 'button', onclick: () => create()}, 'New share') : null)));
      return;
    }
    replace(list, card(`${shares.length} ${shares.length === 1 ? 'share' : 'shares'}`, table([
      {label: 'Name', cell: (s) => h('div', {}, h('strong', {style: 'white-space: nowrap'}, s.name),
        s.degraded ? [' ', degradedMark(s.degraded)] : null,
        s.degraded ? h('div', {class: 'hint degraded-reason'}, `Not served: ${s.degraded}`) : null,
        s.comment ? h('div', {class: 'hint'}, s.comment) : null)},
      {label: 'Dedup domain', cell: (s) => h('span', {class: 'tag'}, s.domain || 'default')},
      {label: 'Access', cell: (s) => accessSummary(s)},
      {label: 'Security', cell: (s) => [s.encrypt_data ? 'Encrypted' : null, s.sign_required ? 'Signed' : null]
        .filter(Boolean).join(', ') || 'Client choice'},
      {label: 'Files', cls: 'num', cell: (s) => count(s.files)},
      {label: 'Logical', cls: 'num', cell: (s) => bytes(s.logical_bytes)},
      {label: 'Quota', cls: 'num', cell: (s) => (s.quota_bytes > 0 ? bytes(s.quota_bytes) : 'None')},
      {label: 'Stored', cls: 'num', cell: (s) => bytes(s.stored_bytes)},
      {label: 'Dedup ratio', cls: 'num', cell: (s) => h('span', {'data-ratio': String(s.logical_bytes > 0 ? s.dedup_ratio : 0)},
        s.logical_bytes > 0 ? ratio(s.dedup_ratio) : '–')},
      {label: '', cls: 'actions', cell: (s) => h('span', {},
        h('button', {class: 'btn btn-small', type: 'button', disabled: !canWrite,
          title: canWrite ? `Edit ${s.name}` : needRole('operator'), 'data-action': 'edit-share', onclick: () => edit(s)}, 'Edit'),
        ' ',
        h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: !canDelete,
          title: canDelete ? `Delete ${s.name}` : needRole('admin'), 'data-action': 'delete-share', onclick: () => remove(s)}, 'Delete'))},
    ], shares, {rowAttrs: (s) => ({'data-share': s.name, title: `Created ${dateTime(s.created)}`})})));
  };

  const create = () => formDialog({
    title: 'New share',
    submitLabel: 'Create share',
    fields: [
      field('Name', h('input', {name: 'name', required: true, maxlength: 60, autocomplete: 'off', spellcheck: 'false'}),
        'Letters, digits, dot, dash and underscore; clients connect to \\\\appliance\\name.'),
      field('Dedup domain', h('input', {name: 'domain', value: 'default', maxlength: 64, autocomplete: 'off', spellcheck: 'false'}),
        'Shares and stores in the same domain dedup against each other; a new name makes a separate domain.'),
      ...accessFields(),
    ],
    submit: async (d) => api.post('/shares', {name: d.name.trim(), domain: d.domain.trim() || undefined, ...accessBody(d)}),
  }).then((s) => {
    if (!s) return;
    toast(`Share ${s.name || ''} created.`);
    load();
  });

  const edit = (s) => formDialog({
    title: `Edit share ${s.name}`,
    submitLabel: 'Save',
    fields: accessFields(s),
    submit: async (d) => api.patch(`/shares/${seg(s.name)}`, accessBody(d)),
  }).then((r) => {
    if (!r) return;
    toast(`Share ${s.name} saved.`);
    load();
  });

  const remove = async (s) => {
    replace(notice);
    const ok = await confirmDialog({
      title: `Delete share ${s.name}?`,
      message: s.files > 0
        ? `${s.name} holds ${count(s.files)} files (${bytes(s.logical_bytes)}). They are deleted with the share; this cannot be undone.`
        : `The share ${s.name} is empty. Deleting it cannot be undone.`,
      confirm: 'Delete share',
    });
    if (!ok) return;
    try {
      await api.del(`/shares/${seg(s.name)}`);
      toast(`Share ${s.name} deleted.`);
    } catch (err) {
      replace(notice, banner(`Cannot delete ${s.name}: ${err.message}`));
    }
    load();
  };

  load();
  return {el};
}
