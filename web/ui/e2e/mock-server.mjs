// A development stand-in for the appliance's REST API, to work on the UI
// without a data directory: `node mock-server.mjs [port]`, then open
// http://127.0.0.1:PORT/ and log in as admin / admin-password (or
// operator / operator-pass, viewer / viewer-pass). The browser tests never
// use it: they run against the real binary.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import {fileURLToPath} from 'node:url';

const STATIC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'static');
const TYPES = {'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml'};
const GiB = 1024 ** 3;
const start = Date.now();

const users = new Map([
  ['admin', {name: 'admin', role: 'admin', password: 'admin-password'}],
  ['operator', {name: 'operator', role: 'operator', password: 'operator-pass'}],
  ['viewer', {name: 'viewer', role: 'read-only', password: 'viewer-pass'}],
].map(([k, u]) => [k, {...u, created: new Date(start - 86400e3).toISOString(), modified: new Date(start).toISOString()}]));
const sessions = new Map();
const stores = new Map([['default', {name: 'default', domain: 'default', created: new Date(start - 7 * 86400e3).toISOString()}],
  ['sql-prod', {name: 'sql-prod', domain: 'tenant-a', created: new Date(start - 3 * 86400e3).toISOString()}]]);
const items = new Map([['default', []], ['sql-prod', []]]);
for (let i = 0; i < 120; i++) {
  const size = Math.round((1 + (i % 7)) * 1.7 * GiB);
  items.get(i % 3 ? 'default' : 'sql-prod').push({name: `vm/host-${String(i).padStart(3, '0')}/full-2025-05-${String(1 + (i % 28)).padStart(2, '0')}.vbk`,
    size, new_bytes: Math.round(size / (3 + (i % 5))), chunks: Math.round(size / 65536),
    created: new Date(start - i * 3600e3).toISOString(), modified: new Date(start - i * 3600e3).toISOString(), meta: {}});
}
let settings = {blackout: [{days: [1, 2, 3, 4, 5], start: '22:00', end: '06:00'}]};
const events = [];
const record = (e) => events.push({id: events.length + 1, time: new Date().toISOString(), level: 'info', ...e});
record({kind: 'system', action: 'appliance.start', message: 'Appliance started'});
record({kind: 'system', level: 'warning', action: 'capacity', message: 'Volume 0002 is 80% full'});
let verify = {state: 'idle', containers: 0, containers_done: 0, bytes: 0, bytes_done: 0, damage: []};
let verifyTimer = null;

function storeView(s) {
  const list = items.get(s.name) || [];
  const logical = list.reduce((a, i) => a + i.size, 0);
  const stored = list.reduce((a, i) => a + i.new_bytes, 0);
  return {...s, items: list.length, logical_bytes: logical, stored_bytes: stored, dedup_ratio: stored ? logical / stored : 0};
}

function status() {
  const all = [...stores.values()].map(storeView);
  const logical = all.reduce((a, s) => a + s.logical_bytes, 0);
  const stored = all.reduce((a, s) => a + s.stored_bytes, 0);
  return {version: '0.3.0-dev', uptime_seconds: Math.round((Date.now() - start) / 1000) + 273600, capacity_bytes: 4096 * GiB,
    stored_bytes: stored, logical_bytes: logical, dedup_ratio: stored ? logical / stored : 0,
    items: all.reduce((a, s) => a + s.items, 0), stores: all.length, containers: 5321, volumes: 2,
    ingested_bytes: 812 * GiB, restored_bytes: 96 * GiB, new_chunks: 4_100_000, dup_chunks: 12_800_000};
}

function history() {
  const samples = [];
  const now = Date.now();
  for (let i = 180; i >= 0; i--) {
    const t = now - i * 10000;
    const night = Math.sin(i / 25) > 0.2;
    samples.push({time: new Date(t).toISOString(),
      ingest_bytes_per_second: night ? (380 + 90 * Math.sin(i / 3)) * 1024 ** 2 : 4 * 1024 ** 2 * (1 + Math.cos(i)),
      restore_bytes_per_second: i > 40 && i < 70 ? 210 * 1024 ** 2 : 0,
      stored_bytes: 0, logical_bytes: 0});
  }
  return {interval_seconds: 10, samples};
}

const send = (res, code, body, headers = {}) => {
  res.writeHead(code, {'Content-Type': 'application/json', ...headers});
  res.end(body === undefined ? '' : JSON.stringify(body));
};
const fail = (res, code, c, message) => send(res, code, {error: {code: c, message}});
const RANK = {'read-only': 0, operator: 1, admin: 2};

async function body(req) {
  let s = '';
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

function auth(req) {
  const m = /backstop_session=([^;]+)/.exec(req.headers.cookie || '');
  return m ? sessions.get(m[1]) : undefined;
}

function runVerify() {
  verify = {state: 'running', started: new Date().toISOString(), finished: null, containers: 40, containers_done: 0,
    bytes: 40 * 8 * 1024 ** 2, bytes_done: 0, damage: [], error: ''};
  record({kind: 'system', action: 'verify.start', message: 'Verify started'});
  clearInterval(verifyTimer);
  verifyTimer = setInterval(() => {
    if (verify.state !== 'running') return;
    verify.containers_done = Math.min(verify.containers, verify.containers_done + 8);
    verify.bytes_done = verify.containers_done * 8 * 1024 ** 2;
    if (verify.containers_done === verify.containers) {
      verify.state = 'done';
      verify.finished = new Date().toISOString();
      clearInterval(verifyTimer);
      record({kind: 'system', action: 'verify.done', message: 'Verify finished: no damage'});
    }
  }, 1000);
}

async function apiRoute(req, res, url) {
  const p = url.pathname.slice('/api/v1'.length);
  const m = req.method;
  if (p === '/sessions' && m === 'POST') {
    const b = await body(req);
    const u = users.get(b.username);
    if (!u || u.password !== b.password) {
      record({kind: 'audit', level: 'warning', action: 'login.failed', actor: b.username, message: `Failed login for ${b.username}`});
      return fail(res, 401, 'unauthenticated', 'wrong user name or password');
    }
    const token = crypto.randomBytes(16).toString('hex');
    const csrf = crypto.randomBytes(16).toString('hex');
    sessions.set(token, {user: u.name, csrf});
    record({kind: 'audit', action: 'login', actor: u.name, message: `${u.name} logged in`});
    return send(res, 201, {token, csrf_token: csrf, expires_at: new Date(Date.now() + 900e3).toISOString(),
      user: {name: u.name, role: u.role}}, {'Set-Cookie': `backstop_session=${token}; HttpOnly; SameSite=Strict; Path=/`});
  }
  const sess = auth(req);
  if (!sess || !users.has(sess.user)) return fail(res, 401, 'unauthenticated', 'not logged in');
  const me = users.get(sess.user);
  if (m !== 'GET' && req.headers['x-csrf-token'] !== sess.csrf) return fail(res, 403, 'csrf', 'missing or wrong CSRF token');
  const need = (role) => {
    if (RANK[me.role] >= RANK[role]) return false;
    fail(res, 403, 'forbidden', `this needs the ${role} role`);
    return true;
  };
  let g;
  if (p === '/sessions/current') {
    if (m === 'DELETE') { sessions.delete(/backstop_session=([^;]+)/.exec(req.headers.cookie)[1]); return send(res, 204); }
    return send(res, 200, {user: {name: me.name, role: me.role}, expires_at: new Date(Date.now() + 900e3).toISOString()});
  }
  if (p === '/status') return send(res, 200, status());
  if (p === '/status/history') return send(res, 200, history());
  if (p === '/stores' && m === 'GET') return send(res, 200, [...stores.values()].map(storeView));
  if (p === '/stores' && m === 'POST') {
    if (need('operator')) return;
    const b = await body(req);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(b.name || '')) return fail(res, 400, 'invalid', 'store name: use 1 to 64 letters, digits, dot, dash or underscore');
    if (stores.has(b.name)) return fail(res, 409, 'conflict', `store ${b.name} already exists`);
    stores.set(b.name, {name: b.name, domain: b.domain || 'default', created: new Date().toISOString()});
    items.set(b.name, []);
    record({kind: 'audit', action: 'store.create', actor: me.name, object: b.name, message: `Store ${b.name} created`});
    return send(res, 201, storeView(stores.get(b.name)));
  }
  if ((g = /^\/stores\/([^/]+)$/.exec(p))) {
    const name = decodeURIComponent(g[1]);
    const s = stores.get(name);
    if (!s) return fail(res, 404, 'not_found', `no store ${name}`);
    if (m === 'GET') return send(res, 200, storeView(s));
    if (m === 'DELETE') {
      if (need('admin')) return;
      if (items.get(name).length) return fail(res, 409, 'conflict', `store ${name} is not empty: delete its items first`);
      stores.delete(name);
      return send(res, 204);
    }
  }
  if ((g = /^\/stores\/([^/]+)\/items(\/.*)?$/.exec(p))) {
    const name = decodeURIComponent(g[1]);
    if (!stores.has(name)) return fail(res, 404, 'not_found', `no store ${name}`);
    const list = items.get(name).slice().sort((a, b) => a.name.localeCompare(b.name));
    if (m === 'GET' && !g[2]) {
      const prefix = url.searchParams.get('prefix') || '';
      const after = url.searchParams.get('after') || '';
      const limit = Number(url.searchParams.get('limit') || 100);
      const sel = list.filter((i) => i.name.startsWith(prefix) && i.name > after);
      const page = sel.slice(0, limit);
      return send(res, 200, {items: page, next: sel.length > limit ? page[page.length - 1].name : ''});
    }
    if (m === 'DELETE' && g[2]) {
      if (need('operator')) return;
      const item = g[2].slice(1).split('/').map(decodeURIComponent).join('/');
      const arr = items.get(name);
      const i = arr.findIndex((x) => x.name === item);
      if (i < 0) return fail(res, 404, 'not_found', `no item ${item}`);
      arr.splice(i, 1);
      return send(res, 204);
    }
  }
  if (p === '/users' && m === 'GET') {
    if (need('admin')) return;
    return send(res, 200, [...users.values()].map(({password, ...u}) => u));
  }
  if (p === '/users' && m === 'POST') {
    if (need('admin')) return;
    const b = await body(req);
    if (!/^[a-z][a-z0-9._-]{0,31}$/.test(b.name || '')) return fail(res, 400, 'invalid', 'user name: lower-case letters, digits, dot, dash, underscore');
    if ((b.password || '').length < 8) return fail(res, 400, 'invalid', 'password: at least 8 characters');
    if (users.has(b.name)) return fail(res, 409, 'conflict', `user ${b.name} already exists`);
    const u = {name: b.name, role: b.role, password: b.password, created: new Date().toISOString(), modified: new Date().toISOString()};
    users.set(b.name, u);
    return send(res, 201, {name: u.name, role: u.role, created: u.created, modified: u.modified});
  }
  if ((g = /^\/users\/([^/]+)$/.exec(p))) {
    const name = decodeURIComponent(g[1]);
    if (name !== me.name && need('admin')) return;
    const u = users.get(name);
    if (!u) return fail(res, 404, 'not_found', `no user ${name}`);
    if (m === 'PATCH') {
      const b = await body(req);
      if (b.role && name === me.name && b.role !== 'admin') return fail(res, 409, 'conflict', 'the last admin cannot be removed or demoted');
      Object.assign(u, b.role ? {role: b.role} : {}, b.password ? {password: b.password} : {}, {modified: new Date().toISOString()});
    }
    if (m === 'DELETE') { users.delete(name); return send(res, 204); }
    return send(res, 200, {name: u.name, role: u.role, created: u.created, modified: u.modified});
  }
  if (p === '/verify' && m === 'GET') return send(res, 200, verify);
  if (p === '/verify' && m === 'POST') {
    if (need('operator')) return;
    if (verify.state === 'running' || verify.state === 'paused') return fail(res, 409, 'conflict', 'verify is already running');
    runVerify();
    return send(res, 202, verify);
  }
  if ((g = /^\/verify\/(pause|resume|cancel)$/.exec(p)) && m === 'POST') {
    if (need('operator')) return;
    verify.state = {pause: 'paused', resume: 'running', cancel: 'cancelled'}[g[1]];
    return send(res, 200, verify);
  }
  if (p === '/settings') {
    if (m === 'PUT') {
      if (need('admin')) return;
      settings = await body(req);
    }
    return send(res, 200, settings);
  }
  if (p === '/events') {
    const kind = url.searchParams.get('kind') || '';
    if (kind === 'audit' && need('admin')) return;
    const after = Number(url.searchParams.get('after') || 0);
    const limit = Number(url.searchParams.get('limit') || 100);
    return send(res, 200, events.filter((e) => e.id > after && (!kind || e.kind === kind)).slice(0, limit));
  }
  return fail(res, 404, 'not_found', 'no such endpoint');
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    if (url.pathname.startsWith('/api/')) return await apiRoute(req, res, url);
    let file = path.join(STATIC, path.normalize(url.pathname));
    if (!file.startsWith(STATIC) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(STATIC, 'index.html');
    res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache'});
    fs.createReadStream(file).pipe(res);
  } catch (err) {
    fail(res, 500, 'internal', 'internal error');
    console.error(err);
  }
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`mock appliance: http://127.0.0.1:${server.address().port}/`);
});
