// Small DOM helpers: an element builder, modal dialogs and toasts.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'style' && typeof v === 'object') {
      Object.assign(el.style, v);
    } else if (k === 'style') {
      el.style.cssText = String(v); // through the CSSOM: the CSP refuses style attributes
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// h builds an HTML element: h('button', {class: 'btn', onclick: f}, 'Save').
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

// s builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

// icon returns a small inline SVG icon by name.
const ICONS = {
  dashboard: 'M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z',
  stores: 'M4 5c0-1.1 3.6-2 8-2s8 .9 8 2v14c0 1.1-3.6 2-8 2s-8-.9-8-2zm0 0c0 1.1 3.6 2 8 2s8-.9 8-2M4 12c0 1.1 3.6 2 8 2s8-.9 8-2',
  shares: 'M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z',
  libraries: 'M3 6h18v12H3zM7 10a2 2 0 1 0 0 .01M17 10a2 2 0 1 0 0 .01M7 15h10',
  users: 'M16 11a4 4 0 1 0-8 0 4 4 0 0 0 8 0zM4 21c0-4 3.6-6 8-6s8 2 8 6',
  jobs: 'M9 12l2 2 4-4M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z',
  events: 'M4 6h16M4 12h16M4 18h10',
  tasks: 'M9 6h11M9 12h11M9 18h11M4 5l1 1 2-2M4 11l1 1 2-2M4 17l1 1 2-2',
  settings: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-7 9c0-3.9 3.1-6 7-6s7 2.1 7 6',
  logout: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9',
  key: 'M15 7a4 4 0 1 1-3.9 5H3v3h3v3h3v-3h2.1A4 4 0 0 1 15 7z',
  back: 'M15 18l-6-6 6-6',
  replication: 'M4 7h13l-3-3M20 17H7l3 3',
  catalyst: 'M13 2L4 14h7l-1 8 9-12h-7z',
};

export function icon(name, cls = 'icon') {
  return s('svg', {class: cls, viewBox: '0 0 24 24', 'aria-hidden': 'true', fill: 'none',
    stroke: 'currentColor', 'stroke-width': 1.8, 'stroke-linecap': 'round', 'stroke-linejoin': 'round'},
  s('path', {d: ICONS[name] || ''}));
}

// clear empties el and appends the given children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// openDialog shows a modal <dialog> and resolves with what close() was given
// (undefined when dismissed with Escape or Cancel).
export function openDialog(build) {
  return new Promise((resolve) => {
    const dlg = h('dialog', {class: 'dialog'});
    let result;
    const close = (v) => { result = v; dlg.close(); };
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    append(dlg, [build(close)]);
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('input:not([type=hidden]):not([disabled]), select, textarea');
    if (first) first.focus();
  });
}

// confirmDialog asks a yes/no question; resolves true only on confirmation.
export function confirmDialog({title, message, confirm = 'Delete', danger = true}) {
  return openDialog((close) => h('form', {method: 'dialog', class: 'dialog-body', onsubmit: (e) => {
    e.preventDefault(); close(true);
  }},
  h('h2', {}, title),
  h('p', {class: 'dialog-text'}, message),
  h('div', {class: 'dialog-actions'},
    h('button', {type: 'button', class: 'btn', onclick: () => close(false)}, 'Cancel'),
    h('button', {type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', autofocus: true}, confirm),
  ))).then((v) => v === true);
}

// formDialog shows a form; submit(data) runs the action and may throw an
// error whose message is shown in the dialog. Resolves with submit's result,
// or undefined when cancelled.
export function formDialog({title, intro, fields, submitLabel = 'Save', submit}) {
  return openDialog((close) => {
    const error = h('div', {class: 'form-error', role: 'alert', hidden: true});
    const button = h('button', {type: 'submit', class: 'btn btn-primary'}, submitLabel);
    const form = h('form', {class: 'dialog-body', novalidate: false, onsubmit: async (e) => {
      e.preventDefault();
      error.hidden = true;
      button.disabled = true;
      try {
        const data = Object.fromEntries(new FormData(form).entries());
        close(await submit(data, form) ?? true);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    }},
    h('h2', {}, title),
    intro ? h('p', {class: 'dialog-text'}, intro) : null,
    error,
    fields,
    h('div', {class: 'dialog-actions'},
      h('button', {type: 'button', class: 'btn', onclick: () => close(undefined)}, 'Cancel'),
      button,
    ));
    return form;
  });
}

// field wraps a labelled input.
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div', {class: 'field'},
    h('label', {for: id}, label),
    input,
    hint ? h('div', {class: 'hint'}, hint) : null);
}

// toast shows a short message in the corner.
export function toast(message, kind = 'ok') {
  let box = document.querySelector('.toasts');
  if (!box) {
    box = h('div', {class: 'toasts', role: 'status'});
    document.body.append(box);
  }
  const t = h('div', {class: `toast toast-${kind}`}, message);
  box.append(t);
  setTimeout(() => t.classList.add('toast-out'), 3600);
  setTimeout(() => t.remove(), 4000);
}
