// The API tokens card (Settings page, every user): a user's named,
// revocable tokens for scripts and monitoring; the secret is shown once.

import {api, seg} from '../api.js';
import {h, replace, formDialog, field, openDialog, confirmDialog, toast} from '../dom.js';
import {card, banner, empty, loading, table} from './common.js';
import {dateTime} from '../format.js';

const ROLES = ['read-only', 'operator', 'admin'];

// showSecret shows a new token's secret once, with a copy button.
function showSecret(tok) {
  return openDialog((close) => {
    const out = h('input', {class: 'mono token-secret', readonly: true, value: tok.secret, 'data-token-secret': '',
      'aria-label': 'Token secret'});
    const copy = h('button', {type: 'button', class: 'btn', 'data-action': 'copy-token', onclick: async () => {
      out.select();
      try {
        await navigator.clipboard.writeText(tok.secret);
        toast('Token copied.');
      } catch {
        document.execCommand('copy'); // http or a denied permission: the selection
      }
    }}, 'Copy');
    return h('div', {class: 'dialog-body'},
      h('h2', {}, `Token “${tok.name}” created`),
      h('p', {class: 'dialog-text'}, 'Copy the token now: it is not kept and cannot be shown again. ' +
        'Send it as “Authorization: Bearer TOKEN”.'),
      h('div', {class: 'token-row'}, out, copy),
      h('div', {class: 'dialog-actions'},
        h('button', {type: 'button', class: 'btn btn-primary', onclick: () => close(true)}, 'Done')));
  });
}

// tokensCard lists the user's tokens (an admin's: everyone's).
export function tokensCard(app) {
  const isAdmin = app.allows('admin');
  const body = h('div', {}, loading());
  const myRank = ROLES.indexOf(app.user.role);

  const load = async () => {
    try {
      const list = await api.get(isAdmin ? '/tokens?all=true' : '/tokens');
      draw(list);
    } catch (err) {
      replace(body, banner(`Cannot load the tokens: ${err.message}`));
    }
  };

  const revoke = async (t) => {
    const ok = await confirmDialog({title: 'Revoke token', confirm: 'Revoke',
      message: `Revoke “${t.name}” of ${t.owner}? Scripts that use it are refused at once.`});
    if (!ok) return;
    try {
      await api.del(`/tokens/${seg(t.id)}`);
      toast('Token revoked.');
    } catch (err) {
      toast(`Revoking: ${err.message}`, 'error');
    }
    load();
  };

  const draw = (list) => {
    if (list.length === 0) {
      replace(body, empty('No API tokens', 'Scripts and monitoring use a token instead of a password.'));
      return;
    }
    list.sort((a, b) => a.created.localeCompare(b.created));
    replace(body, table([
      {label: 'Name', cell: (t) => h('span', {class: 'name strong'}, t.name)},
      isAdmin ? {label: 'Owner', cell: (t) => t.owner} : null,
      {label: 'Role', cell: (t) => h('span', {class: `role role-${t.role}`}, t.role)},
      {label: 'Created', cls: 'nowrap', cell: (t) => dateTime(t.created)},
      {label: 'Expires', cls: 'nowrap', cell: (t) => (t.expires_at ? dateTime(t.expires_at) : 'never')},
      {label: '', cls: 'actions', cell: (t) => h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button',
        'data-action': 'revoke-token', onclick: () => revoke(t)}, 'Revoke')},
    ].filter(Boolean), list, {rowAttrs: (t) => ({'data-token': t.name})}));
  };

  const create = async () => {
    const role = h('select', {name: 'role'}, ROLES.filter((_, i) => i <= myRank).map((r) =>
      h('option', {value: r, selected: r === app.user.role}, r)));
    const tok = await formDialog({
      title: 'New API token',
      intro: 'A token acts as you, with at most your role, until it expires or is revoked.',
      submitLabel: 'Create token',
      fields: [
        field('Name', h('input', {name: 'name', required: true, maxlength: 64, placeholder: 'nightly-report',
          pattern: '[A-Za-z0-9][A-Za-z0-9 ._\\-]*'}), 'What uses it, so you know what to revoke.'),
        field('Role', role),
        field('Expires after (days)', h('input', {name: 'days', type: 'number', min: 1, max: 3650, step: 1,
          class: 'input-narrow'}), 'Empty: never.'),
      ],
      submit: async (d) => {
        const body = {name: d.name.trim(), role: d.role};
        if (d.days) body.expires_at = new Date(Date.now() + Number(d.days) * 86400000).toISOString();
        return api.post('/tokens', body);
      },
    });
    if (!tok) return;
    await showSecret(tok);
    load();
  };

  const add = h('button', {class: 'btn', type: 'button', 'data-action': 'new-token', onclick: () => create()}, 'New token');
  load();
  return card('API tokens', h('div', {},
    h('p', {class: 'muted'}, isAdmin ? 'Tokens of every user. Each user sees and revokes their own.'
      : 'Your tokens for scripts and monitoring.'), body), {actions: add, cls: 'tokens-card', id: 'tokens'});
}
