// One store: its figures and its items, a page at a time.

import {api, seg, itemPath, query} from '../api.js';
import {h, replace, confirmDialog, toast} from '../dom.js';
import {bytes, ratio, count, date, dateTime} from '../format.js';
import {page, card, banner, empty, table, loading, needRole} from './common.js';

const PAGE = 50;

function summary(s) {
  const fact = (label, value) => h('div', {class: 'kpi'}, h('div', {class: 'kpi-label'}, label), h('div', {class: 'kpi-value kpi-value-sm'}, value));
  return h('div', {class: 'kpi-row'},
    fact('Items', count(s.items)),
    fact('Logical', bytes(s.logical_bytes)),
    fact('Stored', bytes(s.stored_bytes)),
    fact('Dedup ratio', s.logical_bytes > 0 ? ratio(s.dedup_ratio) : '–'),
    fact('Dedup domain', s.domain || 'default'),
    fact('Created', date(s.created)));
}

export function render(app, name) {
  const canDelete = app.allows('operator');
  const {el, body} = page({title: name, subtitle: 'Catalyst store', back: {href: '/stores', label: 'All stores'}});
  const head = h('div', {}, loading());
  const notice = h('div', {});
  const list = h('div', {});
  const prefix = h('input', {type: 'search', placeholder: 'Filter by name prefix', 'aria-label': 'Filter by name prefix',
    class: 'input-inline', spellcheck: 'false'});
  // cursors[i] is the "after" that fetched page i.
  let cursors = [''];
  let next = '';

  const filterForm = h('form', {class: 'toolbar', onsubmit: (e) => {
    e.preventDefault();
    cursors = [''];
    loadItems();
  }}, prefix, h('button', {class: 'btn', type: 'submit'}, 'Filter'));
  body.append(head, notice, card('Items', list, {actions: filterForm}));

  const loadStore = async () => {
    try {
      replace(head, summary(await api.get(`/stores/${seg(name)}`)));
    } catch (err) {
      replace(head, banner(err.status === 404 ? `There is no store named ${name}.` : `Cannot load the store: ${err.message}`));
    }
  };

  const pager = () => h('div', {class: 'pager'},
    h('span', {class: 'muted'}, `Page ${cursors.length}`),
    h('button', {class: 'btn btn-small', type: 'button', disabled: cursors.length < 2, onclick: () => {
      cursors.pop();
      loadItems();
    }}, 'Previous'),
    h('button', {class: 'btn btn-small', type: 'button', disabled: !next, 'data-action': 'next-page', onclick: () => {
      cursors.push(next);
      loadItems();
    }}, 'Next'));

  const loadItems = async () => {
    let res;
    try {
      res = await api.get(`/stores/${seg(name)}/items${query({prefix: prefix.value, limit: PAGE, after: cursors[cursors.length - 1]})}`);
    } catch (err) {
      replace(list, banner(`Cannot list the items: ${err.message}`));
      return;
    }
    const items = (res && res.items) || [];
    next = (res && res.next) || '';
    if (items.length === 0 && cursors.length === 1) {
      replace(list, empty(prefix.value ? 'No matching items' : 'No items yet',
        prefix.value ? `No item name starts with “${prefix.value}”.` : 'Items appear here once a backup writes to this store.'));
      return;
    }
    replace(list, table([
      {label: 'Name', cls: 'name', cell: (i) => h('span', {class: 'mono'}, i.name)},
      {label: 'Size', cls: 'num', cell: (i) => bytes(i.size)},
      {label: 'New bytes', cls: 'num', cell: (i) => h('span', {title: 'Bytes this item added to the pool after dedup'}, bytes(i.new_bytes))},
      {label: 'Freed if deleted', cls: 'num', cell: (i) => h('span', {'data-freed': i.freed_if_deleted_bytes ?? 0,
        title: 'Stored bytes only this item uses: what housekeeping gives back once it is deleted'}, bytes(i.freed_if_deleted_bytes))},
      {label: 'Chunks', cls: 'num', cell: (i) => count(i.chunks)},
      {label: 'Created', cell: (i) => dateTime(i.created)},
      {label: '', cls: 'actions', cell: (i) => h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button',
        disabled: !canDelete, title: canDelete ? `Delete ${i.name}` : needRole('operator'), 'data-action': 'delete-item',
        onclick: () => remove(i)}, 'Delete')},
    ], items, {rowAttrs: (i) => ({'data-item': i.name})}), cursors.length > 1 || next ? pager() : null);
  };

  const remove = async (item) => {
    replace(notice);
    const ok = await confirmDialog({
      title: 'Delete item?',
      message: `“${item.name}” (${bytes(item.size)}) will be removed from ${name}. ` +
        (item.freed_if_deleted_bytes > 0 ? `Housekeeping then gives back ${bytes(item.freed_if_deleted_bytes)} that only this item uses. `
          : 'Every chunk it uses is shared with other items, so deleting it frees no space. ') + 'This cannot be undone.',
      confirm: 'Delete item',
    });
    if (!ok) return;
    try {
      await api.del(`/stores/${seg(name)}/items/${itemPath(item.name)}`);
      toast(`Item ${item.name} deleted.`);
    } catch (err) {
      replace(notice, banner(`Cannot delete ${item.name}: ${err.message}`));
    }
    loadStore();
    loadItems();
  };

  loadStore();
  loadItems();
  return {el};
}
