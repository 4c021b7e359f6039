// The stores page: list, create, delete.

import {api, seg} from '../api.js';
import {h, replace, formDialog, confirmDialog, field, toast} from '../dom.js';
import {bytes, ratio, count, dateTime} from '../format.js';
import {page, card, banner, empty, table, loading, needRole} from './common.js';

export function render(app) {
  const canWrite = app.allows('operator');
  const createBtn = h('button', {class: 'btn btn-primary', type: 'button', disabled: !canWrite,
    title: canWrite ? 'Create a store' : needRole('operator'), 'data-action': 'create-store',
    onclick: () => create()}, 'New store');
  const {el, body} = page({
    title: 'Stores',
    subtitle: 'Catalyst stores hold items. Stores in the same dedup domain share one chunk pool.',
    actions: [createBtn],
  });
  const notice = h('div', {});
  const list = h('div', {}, loading());
  body.append(notice, list);

  let domains = ['default'];

  const load = async () => {
    let stores;
    let status = null;
    try {
      [stores, status] = await Promise.all([api.get('/stores'), api.get('/status').catch(() => null)]);
      stores = stores || [];
    } catch (err) {
      replace(list, banner(`Cannot load the stores: ${err.message}`));
      return;
    }
    stores.sort((a, b) => a.name.localeCompare(b.name));
    domains = [...new Set(['default', ...stores.map((s) => s.domain).filter(Boolean)])].sort();
    if (stores.length === 0) {
      replace(list, card('', empty('No stores yet',
        'Create a store, then point a backup application or the backstop CLI at it.',
        canWrite ? h('button', {class: 'btn btn-primary', type: 'button', onclick: () => create()}, 'New store') : null)));
      return;
    }
    replace(list, card(`${stores.length} ${stores.length === 1 ? 'store' : 'stores'}`, h('div', {}, table([
      {label: 'Name', cell: (s) => h('a', {href: `/stores/${seg(s.name)}`, class: 'strong-link'}, s.name)},
      {label: 'Dedup domain', cell: (s) => h('span', {class: 'tag'}, s.domain || 'default')},
      {label: 'Items', cls: 'num', cell: (s) => count(s.items)},
      {label: 'Logical', cls: 'num', cell: (s) => bytes(s.logical_bytes)},
      {label: 'Stored', cls: 'num', cell: (s) => bytes(s.stored_bytes)},
      {label: 'Dedup ratio', cls: 'num', cell: (s) => h('span', {'data-ratio': String(s.logical_bytes > 0 ? s.dedup_ratio : 0)},
        s.logical_bytes > 0 ? ratio(s.dedup_ratio) : '–')},
      {label: 'Created', cell: (s) => dateTime(s.created)},
      {label: '', cls: 'actions', cell: (s) => h('button', {
        class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: !canWrite,
        title: !canWrite ? needRole('operator') : s.items > 0 ? 'Only an empty store can be deleted' : `Delete ${s.name}`,
        'data-action': 'delete-store', onclick: () => remove(s)}, 'Delete')},
    ], stores, {rowAttrs: (s) => ({'data-store': s.name})}), total(stores, status))));
  };

  // total is the appliance's stored bytes, the dashboard's figure, beside
  // the sum of the stores' own: the difference is chunks no item uses any
  // more (housekeeping gives it back) and the volumes' own overhead.
  const total = (stores, status) => {
    if (!status) return null;
    const own = stores.reduce((n, s) => n + (s.stored_bytes || 0), 0);
    return h('p', {class: 'muted stores-total', 'data-total-stored': String(status.stored_bytes)},
      h('span', {}, 'Stored on the appliance: ', h('strong', {}, bytes(status.stored_bytes)), ' (as on the dashboard), of which the stores above hold ',
        h('strong', {}, bytes(own)), '.'),
      status.stored_bytes > own ? h('span', {}, ' The rest is chunks no item uses any more, which housekeeping gives back, and the volumes’ own overhead.') : null);
  };

  const create = () => formDialog({
    title: 'New store',
    submitLabel: 'Create store',
    fields: [
      field('Name', h('input', {name: 'name', required: true, maxlength: 64, autocomplete: 'off', spellcheck: 'false'}),
        'Letters, digits, dot, dash and underscore.'),
      field('Dedup domain', h('input', {name: 'domain', value: 'default', maxlength: 64, autocomplete: 'off', spellcheck: 'false',
        list: 'store-domains'}),
      'Stores in the same domain dedup against each other; a tenant in its own domain shares no chunks with others.'),
      h('datalist', {id: 'store-domains'}, domains.map((d) => h('option', {value: d}))),
    ],
    submit: async (d) => api.post('/stores', {name: d.name.trim(), domain: d.domain.trim() || undefined}),
  }).then((s) => {
    if (!s) return;
    toast(`Store ${s.name || ''} created.`);
    load();
  });

  const remove = async (s) => {
    replace(notice);
    const ok = await confirmDialog({
      title: `Delete store ${s.name}?`,
      message: s.items > 0
        ? `${s.name} still holds ${count(s.items)} items. The appliance only deletes empty stores; delete its items first.`
        : `The store ${s.name} is empty. Deleting it cannot be undone.`,
      confirm: 'Delete store',
    });
    if (!ok) return;
    try {
      await api.del(`/stores/${seg(s.name)}`);
      toast(`Store ${s.name} deleted.`);
    } catch (err) {
      replace(notice, banner(`Cannot delete ${s.name}: ${err.message}`));
    }
    load();
  };

  load();
  return {el};
}
