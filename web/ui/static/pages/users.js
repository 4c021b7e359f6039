// The users page (administrators): list, create, change role, reset password, delete.

import {api, seg} from '../api.js';
import {h, replace, formDialog, confirmDialog, field, toast} from '../dom.js';
import {dateTime} from '../format.js';
import {page, card, banner, empty, table, loading} from './common.js';

const ROLES = [
  ['admin', 'Admin: everything, including users and settings'],
  ['operator', 'Operator: manage stores and items, run jobs'],
  ['read-only', 'Read-only: look, change nothing'],
];

const roleSelect = (value) => h('select', {name: 'role'},
  ROLES.map(([r, label]) => h('option', {value: r, selected: r === value}, label)));

const passwordInputs = () => [
  field('Password', h('input', {name: 'password', type: 'password', required: true, minlength: 8, maxlength: 256,
    autocomplete: 'new-password'}), 'At least 8 characters.'),
  field('Repeat the password', h('input', {name: 'repeat', type: 'password', required: true, autocomplete: 'new-password'})),
];

function samePasswords(d) {
  if (d.password !== d.repeat) throw new Error('The two passwords differ.');
}

export function render(app) {
  const isAdmin = app.allows('admin');
  const me = app.user.name;
  const {el, body} = page({
    title: 'Users',
    subtitle: 'Who may log in to the console and the REST API, and what their role allows.',
    actions: [h('button', {class: 'btn btn-primary', type: 'button', disabled: !isAdmin,
      title: isAdmin ? 'Add a user' : 'Requires the admin role', onclick: () => create()}, 'New user')],
  });
  const notice = h('div', {});
  const list = h('div', {}, loading());
  body.append(notice, list);

  if (!isAdmin) {
    replace(list, card('', empty('Administrators only',
      'Only an admin can see and manage users. You can change your own password here.',
      h('button', {class: 'btn btn-primary', type: 'button', onclick: () => app.changeOwnPassword()}, 'Change my password'))));
    return {el};
  }

  const load = async () => {
    let users;
    try {
      users = await api.get('/users') || [];
    } catch (err) {
      replace(list, banner(`Cannot load the users: ${err.message}`));
      return;
    }
    users.sort((a, b) => a.name.localeCompare(b.name));
    if (users.length === 0) {
      replace(list, card('', empty('No users', 'Create the first user.')));
      return;
    }
    replace(list, card(`${users.length} ${users.length === 1 ? 'user' : 'users'}`, table([
      {label: 'Name', cell: (u) => h('span', {class: 'strong'}, u.name, u.name === me ? h('span', {class: 'muted'}, ' (you)') : null)},
      {label: 'Role', cell: (u) => h('span', {class: `role role-${u.role}`}, u.role)},
      {label: 'Created', cell: (u) => dateTime(u.created)},
      {label: 'Modified', cell: (u) => dateTime(u.modified)},
      {label: '', cls: 'actions', cell: (u) => h('div', {class: 'btn-group'},
        h('button', {class: 'btn btn-small', type: 'button', onclick: () => changeRole(u)}, 'Change role'),
        h('button', {class: 'btn btn-small', type: 'button', onclick: () => resetPassword(u)}, 'Reset password'),
        h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: u.name === me,
          title: u.name === me ? 'You cannot delete yourself' : `Delete ${u.name}`, onclick: () => remove(u)}, 'Delete'))},
    ], users, {rowAttrs: (u) => ({'data-user': u.name})})));
  };

  const create = () => formDialog({
    title: 'New user',
    submitLabel: 'Create user',
    fields: [
      field('Name', h('input', {name: 'name', required: true, maxlength: 32, autocomplete: 'off', spellcheck: 'false'}),
        'Lower-case letters, digits, dot, dash and underscore; starts with a letter.'),
      field('Role', roleSelect('read-only')),
      ...passwordInputs(),
    ],
    submit: async (d) => {
      samePasswords(d);
      return api.post('/users', {name: d.name.trim(), role: d.role, password: d.password});
    },
  }).then((u) => { if (u) { toast(`User ${u.name || ''} created.`); load(); } });

  const changeRole = (u) => formDialog({
    title: `Change the role of ${u.name}`,
    submitLabel: 'Change role',
    fields: [field('Role', roleSelect(u.role))],
    submit: async (d) => api.patch(`/users/${seg(u.name)}`, {role: d.role}),
  }).then((r) => { if (r) { toast(`${u.name} is now ${r.role || 'updated'}.`); load(); } });

  const resetPassword = (u) => formDialog({
    title: `Reset the password of ${u.name}`,
    intro: 'Tell the user the new password through a channel you trust.',
    submitLabel: 'Set password',
    fields: passwordInputs(),
    submit: async (d) => {
      samePasswords(d);
      return api.patch(`/users/${seg(u.name)}`, {password: d.password});
    },
  }).then((r) => { if (r) toast(`Password of ${u.name} changed.`); });

  const remove = async (u) => {
    replace(notice);
    if (!await confirmDialog({title: `Delete user ${u.name}?`,
      message: `${u.name} can no longer log in, and their open sessions end now.`, confirm: 'Delete user'})) return;
    try {
      await api.del(`/users/${seg(u.name)}`);
      toast(`User ${u.name} deleted.`);
    } catch (err) {
      replace(notice, banner(`Cannot delete ${u.name}: ${err.message}`));
    }
    load();
  };

  load();
  return {el};
}
