// The Backstop console: session, shell (header and navigation) and routing.

import {api, setCsrf, onUnauthorized, seg} from './api.js';
import {h, icon, replace, formDialog, field, toast} from './dom.js';
import * as login from './pages/login.js';
import * as dashboard from './pages/dashboard.js';
import * as stores from './pages/stores.js';
import * as store from './pages/store.js';
import * as shares from './pages/shares.js';
import * as users from './pages/users.js';
import * as jobs from './pages/jobs.js';
import * as tasks from './pages/tasks.js';
import * as events from './pages/events.js';
import * as settings from './pages/settings.js';
import * as catalyst from './pages/catalyst.js';
import * as libraries from './pages/libraries.js';
import * as replication from './pages/replication.js';
import {healthBadge} from './pages/common.js';

// HEALTH_REFRESH_MS is how often the header's health badge is refreshed.
const HEALTH_REFRESH_MS = 15000;
// HASH_SETTLE_MS bounds how long a link to a part of a page keeps it in view
// while the page loads.
const HASH_SETTLE_MS = 5000;

const NAV = [
  {id: 'dashboard', path: '/', label: 'Dashboard'},
  {id: 'stores', path: '/stores', label: 'Stores'},
  {id: 'catalyst', path: '/catalyst', label: 'Catalyst'},
  {id: 'shares', path: '/shares', label: 'Shares'},
  {id: 'libraries', path: '/libraries', label: 'Tape libraries'},
  {id: 'replication', path: '/replication', label: 'Replication'},
  {id: 'users', path: '/users', label: 'Users'},
  {id: 'jobs', path: '/jobs', label: 'Jobs'},
  {id: 'tasks', path: '/tasks', label: 'Tasks'},
  {id: 'events', path: '/events', label: 'Events'},
  {id: 'settings', path: '/settings', label: 'Settings'},
];

const ROUTES = [
  {re: /^\/$/, nav: 'dashboard', page: dashboard, title: 'Dashboard'},
  {re: /^\/stores\/?$/, nav: 'stores', page: stores, title: 'Stores'},
  {re: /^\/stores\/([^/]+)\/?$/, nav: 'stores', page: store, title: 'Store'},
  {re: /^\/catalyst\/?$/, nav: 'catalyst', page: catalyst, title: 'Catalyst'},
  {re: /^\/shares\/?$/, nav: 'shares', page: shares, title: 'Shares'},
  {re: /^\/libraries\/?$/, nav: 'libraries', page: libraries, title: 'Tape libraries'},
  {re: /^\/libraries\/([^/]+)\/?$/, nav: 'libraries', page: libraries, title: 'Tape library'},
  {re: /^\/replication\/?$/, nav: 'replication', page: replication, title: 'Replication'},
  {re: /^\/users\/?$/, nav: 'users', page: users, title: 'Users'},
  {re: /^\/jobs\/?$/, nav: 'jobs', page: jobs, title: 'Jobs'},
  {re: /^\/tasks\/?$/, nav: 'tasks', page: tasks, title: 'Tasks'},
  {re: /^\/tasks\/(\d+)\/?$/, nav: 'tasks', page: tasks, title: 'Task'},
  {re: /^\/events\/?$/, nav: 'events', page: events, title: 'Events'},
  {re: /^\/settings\/?$/, nav: 'settings', page: settings, title: 'Settings'},
];

const RANK = {'read-only': 0, operator: 1, admin: 2};

// App holds what the pages share; one instance per page load.
class App {
  constructor(root) {
    this.root = root;
    this.session = null;
    this.version = '';
    this.current = null;
    this.afterLogin = '/';
    onUnauthorized(() => this.expired());
    window.addEventListener('popstate', () => this.route());
    document.addEventListener('click', (e) => this.linkClick(e));
  }

  get user() { return this.session ? this.session.user : null; }

  // allows reports whether the logged-in user's role is at least need.
  allows(need) {
    const u = this.user;
    return !!u && (RANK[u.role] ?? -1) >= RANK[need];
  }

  async start() {
    try {
      this.session = await api.get('/sessions/current', {quiet401: true});
    } catch (err) {
      this.session = null;
      if (err.status !== 401) this.bootError = err.message;
    }
    this.route();
  }

  linkClick(e) {
    const a = e.target.closest('a[href]');
    if (!a || a.target || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    this.navigate(url.pathname + url.search + url.hash);
  }

  navigate(path, {replace: rep = false} = {}) {
    if (path !== location.pathname + location.search + location.hash) {
      if (rep) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
    }
    this.route();
  }

  // scrollToHash shows the part of the page a link named (/settings#tokens):
  // at once, and again when the cards above it have loaded their data and
  // grown (at most HASH_SETTLE_MS later).
  scrollToHash(main) {
    const id = location.hash && decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    const show = () => {
      const target = document.getElementById(id);
      if (target) target.scrollIntoView({block: 'start'});
    };
    show();
    const current = this.current;
    const until = Date.now() + HASH_SETTLE_MS;
    const settle = () => {
      if (this.current !== current || Date.now() > until) return;
      if (main.querySelector('.loading')) setTimeout(settle, 100);
      else show();
    };
    setTimeout(settle, 100);
  }

  dispose() {
    if (this.current && this.current.dispose) this.current.dispose();
    this.current = null;
  }

  route() {
    this.dispose();
    const path = location.pathname;
    if (!this.session) {
      if (path !== '/login') this.afterLogin = path + location.search;
      if (path !== '/login') history.replaceState(null, '', '/login');
      return this.showLogin();
    }
    if (path === '/login') {
      history.replaceState(null, '', '/');
      return this.route();
    }
    let match = null;
    let route = null;
    for (const r of ROUTES) {
      match = path.match(r.re);
      if (match) { route = r; break; }
    }
    this.renderShell(route ? route.nav : '');
    const main = this.root.querySelector('main');
    if (!route) {
      document.title = 'Not found · Backstop';
      replace(main, h('div', {class: 'page'}, h('div', {class: 'empty'},
        h('h2', {}, 'Page not found'),
        h('p', {}, 'There is nothing at this address.'),
        h('a', {href: '/', class: 'btn btn-primary'}, 'Go to the dashboard'))));
      return;
    }
    document.title = `${route.title} · Backstop`;
    const params = match.slice(1).map((p) => decodeURIComponent(p));
    this.current = route.page.render(this, ...params);
    replace(main, this.current.el);
    this.scrollToHash(main);
    main.scrollTop = 0;
  }

  showLogin() {
    document.title = 'Log in · Backstop';
    this.current = login.render(this, async (session) => {
      setCsrf(session.csrf_token);
      this.session = {user: session.user, expires_at: session.expires_at};
      const next = this.afterLogin && this.afterLogin !== '/login' ? this.afterLogin : '/';
      this.afterLogin = '/';
      this.navigate(next, {replace: true});
    }, this.bootError);
    this.bootError = '';
    replace(this.root, this.current.el);
  }

  expired() {
    if (!this.session) return;
    this.session = null;
    setCsrf(null);
    this.afterLogin = location.pathname + location.search;
    this.route();
    toast('Your session has ended. Please log in again.', 'warn');
  }

  async logout() {
    try {
      await api.del('/sessions/current');
    } catch (err) {
      if (err.status !== 401) toast(`Logging out: ${err.message}`, 'error');
    }
    this.session = null;
    setCsrf(null);
    this.afterLogin = '/';
    this.navigate('/login', {replace: true});
  }

  changeOwnPassword() {
    const name = this.user.name;
    formDialog({
      title: 'Change your password',
      intro: `Set a new password for ${name}. It takes effect the next time you log in.`,
      submitLabel: 'Change password',
      fields: [
        field('New password', h('input', {name: 'password', type: 'password', required: true, minlength: 8,
          autocomplete: 'new-password'}), 'At least 8 characters.'),
        field('Repeat the new password', h('input', {name: 'repeat', type: 'password', required: true,
          autocomplete: 'new-password'})),
      ],
      submit: async (d) => {
        if (d.password !== d.repeat) throw new Error('The two passwords differ.');
        await api.patch(`/users/${seg(name)}`, {password: d.password});
      },
    }).then((ok) => { if (ok) toast('Password changed.'); });
  }

  renderShell(active) {
    let shell = this.root.querySelector('.shell');
    if (!shell) {
      shell = this.buildShell();
      replace(this.root, shell);
      this.loadVersion();
    }
    for (const a of shell.querySelectorAll('.nav a')) {
      a.classList.toggle('active', a.dataset.nav === active);
      if (a.dataset.nav === active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  buildShell() {
    const u = this.user;
    return h('div', {class: 'shell'},
      h('header', {class: 'topbar'},
        h('a', {href: '/', class: 'brand'},
          h('img', {src: '/logo.svg', alt: '', width: 28, height: 28}),
          h('span', {class: 'brand-name'}, 'Backstop'),
          h('span', {class: 'brand-version', 'data-version': ''}, '')),
        h('span', {class: 'host', title: 'Appliance'}, location.hostname),
        h('a', {href: '/#health', class: 'header-health', 'data-header-health': '', title: 'Appliance health: see the dashboard'},
          h('span', {class: 'badge health-badge health-unknown'}, 'Health…')),
        h('div', {class: 'spacer'}),
        h('div', {class: 'whoami'},
          icon('user'),
          h('span', {class: 'whoami-name'}, u.name),
          h('span', {class: `role role-${u.role}`}, u.role)),
        h('a', {href: '/settings#tokens', class: 'btn btn-ghost', 'data-action': 'my-tokens',
          title: 'Your API tokens, for scripts and monitoring (Settings)'}, icon('settings'), 'API tokens'),
        h('button', {class: 'btn btn-ghost', type: 'button', onclick: () => this.changeOwnPassword(),
          title: 'Change your password'}, icon('key'), 'Password'),
        h('button', {class: 'btn btn-ghost', type: 'button', onclick: () => this.logout(),
          'data-action': 'logout', title: 'Log out'}, icon('logout'), 'Log out')),
      h('nav', {class: 'nav', 'aria-label': 'Main'},
        NAV.map((n) => h('a', {href: n.path, 'data-nav': n.id}, icon(n.id), h('span', {}, n.label),
          n.id === 'users' && !this.allows('admin') ? h('span', {class: 'nav-note'}, 'admin') : null))),
      h('main', {class: 'content'}));
  }

  async loadVersion() {
    try {
      const st = await api.get('/status');
      this.version = st.version || '';
      const el = this.root.querySelector('[data-version]');
      if (el) el.textContent = /^v?\d/.test(this.version) ? `v${this.version.replace(/^v/, '')}` : this.version;
      this.showHealth(st.health);
    } catch { /* the page shows its own errors */ }
    if (!this.healthTimer) this.healthTimer = setInterval(() => this.loadHealth(), HEALTH_REFRESH_MS);
  }

  // loadHealth refreshes the header's health badge.
  async loadHealth() {
    if (!this.session) return;
    try { this.showHealth(await api.get('/health')); } catch { /* shown again on the next try */ }
  }

  showHealth(health) {
    const el = this.root.querySelector('[data-header-health]');
    if (!el || !health) return;
    el.dataset.headerHealth = health.state;
    const bad = (health.components || []).filter((p) => p.state !== 'ok').map((p) => `${p.name}: ${p.state}`);
    el.title = bad.length ? `Appliance health: ${bad.join(', ')}` : 'Appliance health: every part is working';
    replace(el, healthBadge(health.state));
  }
}

new App(document.getElementById('app')).start();
