// The settings page (administrators): blackout windows, automatic
// housekeeping, scheduled verify and alert targets (alerts.js).

import {api} from '../api.js';
import {h, replace, toast} from '../dom.js';
import {page, card, banner, empty, loading} from './common.js';
import {alertsCard} from './alerts.js';
import {tokensCard} from './tokens.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_ORDER = [1, 2, 3, 4, 5, 6, 0];

function describe(w) {
  const days = !w.days || w.days.length === 0 || w.days.length === 7 ? 'Every day'
    : DAY_ORDER.filter((d) => w.days.includes(d)).map((d) => DAYS[d]).join(', ');
  const wraps = w.end && w.start && w.end < w.start ? ' (into the next day)' : '';
  return `${days}, ${w.start || '--:--'} to ${w.end || '--:--'}${wraps}`;
}

export function render(app) {
  const isAdmin = app.allows('admin');
  const {el, body} = page({
    title: 'Settings',
    subtitle: isAdmin ? 'Appliance-wide settings.' : 'Appliance-wide settings. Only an admin can change them.',
  });
  const notice = h('div', {});
  const editor = h('div', {}, loading());
  const save = h('button', {class: 'btn btn-primary', type: 'button', disabled: true,
    title: isAdmin ? undefined : 'Requires the admin role', onclick: () => store()}, 'Save changes');
  const add = h('button', {class: 'btn', type: 'button', disabled: !isAdmin,
    title: isAdmin ? undefined : 'Requires the admin role', onclick: () => {
      windows.push({days: [], start: '22:00', end: '06:00'});
      changed();
    }}, 'Add window');
  body.append(notice, card('Blackout windows', h('div', {},
    h('p', {class: 'muted'}, 'Verify and housekeeping do not run inside a blackout window, so they stay out of the way of the backup window: ' +
      'they do not start, and one already running waits until the window ends. ' +
      'Times are the appliance’s local time; an end before the start runs past midnight. No day ticked means every day.'),
    editor), {actions: h('div', {class: 'btn-group'}, add, save)}));
  const autoBox = h('input', {type: 'checkbox', id: 'hk-auto', disabled: !isAdmin, onchange: () => { hkSave.disabled = !isAdmin; }});
  const interval = h('input', {type: 'number', id: 'hk-interval', min: 1, max: 10080, step: 1, disabled: !isAdmin, class: 'input-narrow',
    oninput: () => { hkSave.disabled = !isAdmin; }});
  const hkSave = h('button', {class: 'btn btn-primary', type: 'button', disabled: true, 'data-action': 'save-housekeeping',
    title: isAdmin ? undefined : 'Requires the admin role', onclick: () => storeHK()}, 'Save changes');
  body.append(card('Automatic housekeeping', h('div', {},
    h('p', {class: 'muted'}, 'When on, the appliance checks at this interval whether deleted items left space to reclaim, and if so ' +
      'runs housekeeping: outside blackout windows, and never while verify runs.'),
    h('div', {class: 'hk-settings'},
      h('label', {class: 'check'}, autoBox, h('span', {}, 'Run housekeeping automatically')),
      h('label', {class: 'time'}, 'Check every', interval, 'minutes'))), {actions: hkSave}));
  body.append(verifyScheduleCard(isAdmin));
  if (isAdmin) body.append(alertsCard());
  body.append(tokensCard(app));
  let windows = [];
  let dirty = false;

  const changed = () => {
    dirty = true;
    save.disabled = !isAdmin;
    draw();
  };

  const row = (w, i) => h('div', {class: 'window-row', 'data-window': i},
    h('div', {class: 'days', role: 'group', 'aria-label': 'Days'}, DAY_ORDER.map((d) => h('label', {class: 'day'},
      h('input', {type: 'checkbox', checked: (w.days || []).includes(d), disabled: !isAdmin, onchange: (e) => {
        const set = new Set(w.days || []);
        if (e.target.checked) set.add(d); else set.delete(d);
        w.days = [...set].sort();
        changed();
      }}), h('span', {}, DAYS[d])))),
    h('label', {class: 'time'}, 'From', h('input', {type: 'time', value: w.start, required: true, disabled: !isAdmin,
      onchange: (e) => { w.start = e.target.value; changed(); }})),
    h('label', {class: 'time'}, 'to', h('input', {type: 'time', value: w.end, required: true, disabled: !isAdmin,
      onchange: (e) => { w.end = e.target.value; changed(); }})),
    h('span', {class: 'muted small window-desc'}, describe(w)),
    h('button', {class: 'btn btn-small btn-danger-ghost', type: 'button', disabled: !isAdmin, onclick: () => {
      windows.splice(i, 1);
      changed();
    }}, 'Remove'));

  const draw = () => {
    if (windows.length === 0) {
      replace(editor, empty('No blackout windows', 'Jobs may run at any time.'));
      return;
    }
    replace(editor, h('div', {class: 'windows'}, windows.map(row)),
      dirty ? h('p', {class: 'unsaved'}, 'Unsaved changes.') : null);
  };

  const load = async () => {
    try {
      const s = await api.get('/settings');
      windows = ((s && s.blackout) || []).map((w) => ({days: w.days || [], start: w.start, end: w.end}));
      const hs = (s && s.housekeeping) || {auto: true, interval_minutes: 60};
      autoBox.checked = !!hs.auto;
      interval.value = String(hs.interval_minutes);
      hkSave.disabled = true;
      dirty = false;
      save.disabled = true;
      draw();
    } catch (err) {
      replace(editor, banner(`Cannot load the settings: ${err.message}`));
    }
  };

  const store = async () => {
    replace(notice);
    if (windows.some((w) => !w.start || !w.end)) {
      replace(notice, banner('Every window needs a start and an end time.'));
      return;
    }
    save.disabled = true;
    try {
      await api.put('/settings', {blackout: windows});
      toast('Settings saved.');
      await load();
    } catch (err) {
      save.disabled = false;
      replace(notice, banner(`Cannot save: ${err.message}`));
    }
  };

  const storeHK = async () => {
    replace(notice);
    const minutes = Number(interval.value);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 10080) {
      replace(notice, banner('The housekeeping interval is a whole number of minutes from 1 to 10080 (a week).'));
      return;
    }
    hkSave.disabled = true;
    try {
      await api.put('/settings', {housekeeping: {auto: autoBox.checked, interval_minutes: minutes}});
      toast('Settings saved.');
      await load();
    } catch (err) {
      hkSave.disabled = false;
      replace(notice, banner(`Cannot save: ${err.message}`));
    }
  };

  load();
  return {el};
}

// verifyScheduleCard is scheduled verify: a slice of the data each day so
// that all of it is read back every N days.
function verifyScheduleCard(isAdmin) {
  const notice = h('div', {});
  const autoBox = h('input', {type: 'checkbox', id: 'verify-auto', disabled: !isAdmin, onchange: () => { saveBtn.disabled = !isAdmin; }});
  const days = h('input', {type: 'number', id: 'verify-days', min: 1, max: 366, step: 1, disabled: !isAdmin, class: 'input-narrow',
    oninput: () => { saveBtn.disabled = !isAdmin; }});
  const saveBtn = h('button', {class: 'btn btn-primary', type: 'button', disabled: true, 'data-action': 'save-verify-schedule',
    title: isAdmin ? undefined : 'Requires the admin role', onclick: () => save()}, 'Save changes');
  const load = async () => {
    try {
      const v = (await api.get('/settings')).verify || {auto: false, every_days: 0};
      autoBox.checked = !!v.auto;
      days.value = String(v.every_days || 7);
      saveBtn.disabled = true;
    } catch (err) {
      replace(notice, banner(`Cannot load the settings: ${err.message}`));
    }
  };
  const save = async () => {
    replace(notice);
    const n = Number(days.value);
    if (!Number.isInteger(n) || n < 1 || n > 366) {
      replace(notice, banner('Verify all data every 1 to 366 days.'));
      return;
    }
    saveBtn.disabled = true;
    try {
      await api.put('/settings', {verify: autoBox.checked ? {auto: true, every_days: n} : {auto: false, every_days: 0}});
      toast('Settings saved.');
      await load();
    } catch (err) {
      saveBtn.disabled = false;
      replace(notice, banner(`Cannot save: ${err.message}`));
    }
  };
  load();
  return card('Scheduled verify', h('div', {},
    notice,
    h('p', {class: 'muted'}, 'When on, the appliance verifies a slice of the stored data once a day, the data checked longest ago first, ' +
      'so that all of it is read back within the number of days set here: outside blackout windows, and never while housekeeping runs.'),
    h('div', {class: 'hk-settings'},
      h('label', {class: 'check'}, autoBox, h('span', {}, 'Verify on a schedule')),
      h('label', {class: 'time'}, 'All data every', days, 'days'))), {actions: saveBtn});
}
