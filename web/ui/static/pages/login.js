// The login page.

import {api} from '../api.js';
import {h} from '../dom.js';

export function render(app, done, notice) {
  const error = h('div', {class: 'form-error', role: 'alert', hidden: !notice}, notice || '');
  const user = h('input', {id: 'login-user', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', maxlength: 64});
  const pass = h('input', {id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, maxlength: 256});
  const button = h('button', {type: 'submit', class: 'btn btn-primary btn-block'}, 'Log in');
  const form = h('form', {class: 'login-form', onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    button.disabled = true;
    button.textContent = 'Logging in…';
    try {
      const session = await api.post('/sessions', {username: user.value.trim(), password: pass.value}, {quiet401: true});
      await done(session);
    } catch (err) {
      error.textContent = err.status === 401 && !err.message ? 'Wrong user name or password.' : err.message;
      error.hidden = false;
      pass.value = '';
      pass.focus();
    } finally {
      button.disabled = false;
      button.textContent = 'Log in';
    }
  }},
  h('div', {class: 'field'}, h('label', {for: 'login-user'}, 'User name'), user),
  h('div', {class: 'field'}, h('label', {for: 'login-pass'}, 'Password'), pass),
  error,
  button);

  const el = h('div', {class: 'login'},
    h('div', {class: 'login-card'},
      h('div', {class: 'login-brand'},
        h('img', {src: '/logo.svg', alt: '', width: 44, height: 44}),
        h('div', {},
          h('div', {class: 'login-title'}, 'Backstop'),
          h('div', {class: 'login-sub'}, `Backup target appliance · ${location.hostname}`))),
      h('h1', {class: 'login-heading'}, 'Log in to the console'),
      form),
    h('p', {class: 'login-foot'},
      'On first start the admin password is printed by ', h('code', {}, 'backstop serve'),
      ' and kept in ', h('code', {}, 'DATA/initial-admin-password'), '.'));
  setTimeout(() => user.focus(), 0);
  return {el};
}
