// Virtual tape libraries: the list with their figures and, for one
// library, its drives and cartridges (create, move, import/export,
// write-protect, delete).

import {api, seg} from '../api.js';
import {h, replace, formDialog, confirmDialog, field, toast} from '../dom.js';
import {bytes, ratio, count, dateTime} from '../format.js';
import {page, card, banner, empty, table, loading, needRole, degradedMark} from './common.js';

const GIB = 1024 ** 3;

export function render(app, name) {
  return name ? renderLibrary(app, name) : renderList(app);
}

function renderList(app) {
  const canWrite = app.allows('operator');
  const canDelete = app.allows('admin');
  const createBtn = h('button', {class: 'btn btn-primary', type: 'button', disabled: !canWrite,
    title: canWrite ? 'Create a library' : needRole('operator'), 'data-action': 'create-library',
    onclick: () => create()}, 'New library');
  const {el, body} = page({
    title: 'Tape libraries',
    subtitle: 'Virtual tape libraries served over iSCSI: a changer, drives and cartridges whose data is deduplicated.',
    actions: [createBtn],
  });
  const notice = h('div', {});
  const list = h('div', {}, loading());
  body.append(notice, list);

  const load = async () => {
    let libs;
    try {
      libs = await api.get('/libraries') || [];
    } catch (err) {
      replace(list, banner(`Cannot load the libraries: ${err.message}`));
      return;
    }
    if (libs.length === 0) {
      replace(list, card('', empty('No libraries', 'Create a library, then log in to its iSCSI target from the backup server.')));
      return;
    }
    replace(list, card(`${libs.length} ${libs.length === 1 ? 'library' : 'libraries'}`, table([
      {label: 'Name', cell: (l) => h('div', {}, h('a', {href: `/libraries/${seg(l.name)}`, class: 'strong-link'}, l.name),
        l.degraded ? [' ', degradedMark(l.degraded)] : null,
        l.degraded ? h('div', {class: 'hint degraded-reason'}, `Target not offered: ${l.degraded}`) : null)},
      {label: 'Model', cell: (l) => `${l.emulation} · LTO-${l.generation}`},
      {label: 'Drives', cls: 'num', cell: (l) => count(l.drives)},
      {label: 'Slots', cls: 'num', cell: (l) => `${count(l.slots_used)} / ${count(l.slots)}`},
      {label: 'Cartridges', cls: 'num', cell: (l) => count(l.cartridges)},
      {label: 'Logical', cls: 'num', cell: (l) => bytes(l.logical_bytes)},
      {label: 'Stored', cls: 'num', cell: (l) => bytes(l.stored_bytes)},
      {label: 'Dedup ratio', cls: 'num', cell: (l) => (l.logical_bytes > 0 ? ratio(l.dedup_ratio) : '–')},
      {label: 'iSCSI target', cell: (l) => h('code', {}, l.iqn)},
      {label: '', cls: 'actions', cell: (l) => (l.degraded
        ? h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: !canDelete,
          title: canDelete ? `Delete the degraded library ${l.name}` : needRole('admin'), 'data-action': 'delete-library',
          onclick: () => remove(l)}, 'Delete')
        : null)},
    ], libs, {rowAttrs: (l) => ({'data-library': l.name})})));
  };

  // remove deletes a degraded library: its entry goes, its cartridges'
  // data stay in its store.
  const remove = async (l) => {
    replace(notice);
    const ok = await confirmDialog({title: `Delete library ${l.name}?`,
      message: `${l.name} could not open. Its entry is deleted; the data of its cartridges stay in store vtl-${l.name}.`,
      confirm: 'Delete library'});
    if (!ok) return;
    try {
      await api.del(`/libraries/${seg(l.name)}`);
      toast(`Library ${l.name} deleted.`);
    } catch (err) {
      replace(notice, banner(`Cannot delete ${l.name}: ${err.message}`));
    }
    load();
  };

  const create = () => formDialog({
    title: 'New tape library',
    submitLabel: 'Create library',
    fields: [
      field('Name', h('input', {name: 'name', required: true, maxlength: 40, autocomplete: 'off', spellcheck: 'false'}),
        'Letters, digits, dot, dash and underscore.'),
      field('Emulation', h('select', {name: 'emulation'},
        h('option', {value: 'hp-msl'}, 'HPE MSL G3 series, HP Ultrium drives'),
        h('option', {value: 'ibm-ts3100'}, 'IBM TS3100 (3573), IBM ULT3580 drives'))),
      field('LTO generation', h('select', {name: 'generation'},
        [4, 5, 6, 7, 8].map((g) => h('option', {value: g, selected: g === 6}, `LTO-${g}`)))),
      field('Drives', h('input', {name: 'drives', type: 'number', min: 1, max: 16, value: 2, required: true})),
      field('Slots', h('input', {name: 'slots', type: 'number', min: 1, max: 400, value: 24, required: true})),
      field('Mail slots', h('input', {name: 'mail_slots', type: 'number', min: 0, max: 16, value: 2})),
      field('Cartridge size (GiB)', h('input', {name: 'size', type: 'number', min: 0, step: 'any', placeholder: 'native'}),
        'Empty: the generation\'s native capacity.'),
      field('CHAP user', h('input', {name: 'chap_user', autocomplete: 'off'}), 'Optional: initiators must then log in with it.'),
      field('CHAP secret', h('input', {name: 'chap_secret', type: 'password', autocomplete: 'new-password', minlength: 12})),
    ],
    submit: async (d) => api.post('/libraries', {
      name: d.name.trim(), emulation: d.emulation, generation: Number(d.generation),
      drives: Number(d.drives), slots: Number(d.slots), mail_slots: Number(d.mail_slots || 0),
      cartridge_size: d.size ? Math.round(Number(d.size) * GIB) : 0,
      chap: d.chap_user ? {user: d.chap_user, secret: d.chap_secret} : undefined,
    }),
  }).then((l) => {
    if (!l) return;
    toast(`Library ${l.name || ''} created.`);
    load();
  });

  load();
  return {el};
}

function where(loc) {
  switch (loc.type) {
    case 'slot': return `Slot ${loc.index + 1}`;
    case 'mail': return `Mail slot ${loc.index + 1}`;
    case 'drive': return `Drive ${loc.index}`;
    default: return 'Outside (vault)';
  }
}

function renderLibrary(app, name) {
  const canWrite = app.allows('operator');
  const isAdmin = app.allows('admin');
  const addBtn = h('button', {class: 'btn btn-primary', type: 'button', disabled: !canWrite,
    title: canWrite ? 'Create blank cartridges' : needRole('operator'), 'data-action': 'add-cartridges',
    onclick: () => add()}, 'New cartridges');
  const {el, body} = page({title: name, subtitle: 'Tape library', back: {href: '/libraries', label: 'All libraries'}, actions: [addBtn]});
  const head = h('div', {}, loading());
  const notice = h('div', {});
  const degradedNote = h('div', {'data-degraded-note': ''});
  const drives = h('div', {});
  const list = h('div', {});
  body.append(degradedNote, head, notice, drives, list);
  let lib = null;

  const fact = (label, value) => h('div', {class: 'kpi'}, h('div', {class: 'kpi-label'}, label), h('div', {class: 'kpi-value kpi-value-sm'}, value));

  const load = async () => {
    let carts;
    try {
      [lib, carts] = await Promise.all([api.get(`/libraries/${seg(name)}`), api.get(`/libraries/${seg(name)}/cartridges`)]);
    } catch (err) {
      replace(head, banner(`Cannot load library ${name}: ${err.message}`));
      return;
    }
    replace(degradedNote, lib.degraded
      ? banner(`This library could not open and its iSCSI target is not offered: ${lib.degraded}. ` +
        'Repair its entry in libraries.json and restart the appliance, or delete the library (its cartridges\' data stay in its store).', 'warn')
      : null);
    replace(head, h('div', {class: 'kpi-row'},
      fact('Cartridges', count(lib.cartridges)),
      fact('Logical', bytes(lib.logical_bytes)),
      fact('Stored', bytes(lib.stored_bytes)),
      fact('Dedup ratio', lib.logical_bytes > 0 ? ratio(lib.dedup_ratio) : '–'),
      fact('Model', `${lib.emulation} · LTO-${lib.generation}`),
      fact('iSCSI target', lib.iqn + (lib.chap.required ? ' (CHAP)' : ''))));
    replace(drives, card('Drives', table([
      {label: 'LUN', cls: 'num', cell: (d) => String(d.lun)},
      {label: 'Drive', cell: (d) => `${d.vendor} ${d.product}`},
      {label: 'Serial', cell: (d) => h('code', {}, d.serial)},
      {label: 'Cartridge', cell: (d) => d.barcode || '–'},
    ], lib.drive_status || [])));
    if (carts.length === 0) {
      replace(list, card('Cartridges', empty('No cartridges', 'Create blank cartridges; they go into empty slots.')));
      return;
    }
    const act = (label, action, fn, c, enabled = canWrite) => h('button', {class: 'btn btn-small', type: 'button',
      disabled: !enabled, 'data-action': action, onclick: () => fn(c)}, label);
    replace(list, card(`${carts.length} cartridges`, table([
      {label: 'Barcode', cell: (c) => h('strong', {}, c.barcode)},
      {label: 'Location', cell: (c) => where(c.location)},
      {label: 'Used', cls: 'num', cell: (c) => bytes(c.used_bytes)},
      {label: 'Capacity', cls: 'num', cell: (c) => bytes(c.capacity)},
      {label: 'Protection', cell: (c) => (c.worm ? 'WORM' : c.write_protected ? 'Write-protected' : '–')},
      {label: 'Created', cell: (c) => dateTime(c.created)},
      {label: '', cls: 'actions', cell: (c) => h('div', {class: 'row-actions'},
        act('Move', 'move', move, c, canWrite && c.location.type !== 'vault'),
        c.location.type === 'vault' ? act('Import', 'import', imp, c) : act('Export', 'export', exp, c, canWrite && c.location.type !== 'drive'),
        act(c.write_protected ? 'Unprotect' : 'Protect', 'protect', protect, c),
        h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: !isAdmin || c.location.type === 'drive',
          title: isAdmin ? `Delete ${c.barcode} and its data` : needRole('admin'), 'data-action': 'delete-cartridge',
          onclick: () => remove(c)}, 'Delete'))},
    ], carts, {rowAttrs: (c) => ({'data-cartridge': c.barcode})})));
  };

  const run = async (what, fn) => {
    replace(notice);
    try {
      await fn();
      toast(what);
    } catch (err) {
      replace(notice, banner(err.message));
    }
    load();
  };

  const add = () => formDialog({
    title: 'New cartridges',
    submitLabel: 'Create',
    fields: [
      field('Barcode prefix', h('input', {name: 'prefix', value: 'BKS', maxlength: 5, required: true, spellcheck: 'false'}),
        'Barcodes are the prefix, a number and the media suffix (e.g. BKS009L6).'),
      field('Count', h('input', {name: 'count', type: 'number', min: 1, max: 1000, value: 1, required: true})),
      field('Or barcodes', h('input', {name: 'barcodes', placeholder: 'ABC001L6 ABC002L6', spellcheck: 'false'}), 'Space-separated; overrides prefix and count.'),
      field('WORM', h('input', {name: 'worm', type: 'checkbox'}), 'Write once: data cannot be overwritten.'),
    ],
    submit: async (d) => {
      const list = (d.barcodes || '').split(/\s+/).filter(Boolean);
      return api.post(`/libraries/${seg(name)}/cartridges`, list.length
        ? {barcodes: list, worm: d.worm === 'on'}
        : {prefix: d.prefix.trim().toUpperCase(), count: Number(d.count), worm: d.worm === 'on'});
    },
  }).then((r) => {
    if (!r) return;
    toast(`${r.length} cartridge${r.length === 1 ? '' : 's'} created.`);
    load();
  });

  const move = (c) => formDialog({
    title: `Move ${c.barcode}`,
    intro: `Now in ${where(c.location).toLowerCase()}. A cartridge moved into a drive is loaded there.`,
    submitLabel: 'Move',
    fields: [
      field('To', h('select', {name: 'type'}, h('option', {value: 'slot'}, 'Slot'), h('option', {value: 'mail'}, 'Mail slot'), h('option', {value: 'drive'}, 'Drive'))),
      field('Number', h('input', {name: 'index', type: 'number', min: 0, value: 1, required: true}), 'Slots and mail slots count from 1, drives from 0.'),
    ],
    submit: async (d) => {
      const index = d.type === 'drive' ? Number(d.index) : Number(d.index) - 1;
      return api.post(`/libraries/${seg(name)}/cartridges/${seg(c.barcode)}/move`, {type: d.type, index});
    },
  }).then((r) => { if (r) { toast(`${c.barcode} moved.`); load(); } });

  const imp = (c) => run(`${c.barcode} is in a mail slot.`, () => api.post(`/libraries/${seg(name)}/cartridges/${seg(c.barcode)}/import`));
  const exp = (c) => run(`${c.barcode} left the library.`, () => api.post(`/libraries/${seg(name)}/cartridges/${seg(c.barcode)}/export`));
  const protect = (c) => run(`${c.barcode} ${c.write_protected ? 'is writable' : 'is write-protected'}.`,
    () => api.patch(`/libraries/${seg(name)}/cartridges/${seg(c.barcode)}`, {write_protected: !c.write_protected}));
  const remove = async (c) => {
    const ok = await confirmDialog({title: `Delete ${c.barcode}?`,
      message: `The cartridge and the ${bytes(c.used_bytes)} written on it are deleted. This cannot be undone.`, confirm: 'Delete cartridge'});
    if (ok) run(`${c.barcode} deleted.`, () => api.del(`/libraries/${seg(name)}/cartridges/${seg(c.barcode)}`));
  };

  load();
  return {el};
}
