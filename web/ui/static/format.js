// Human-readable sizes, rates, ratios, times and durations.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

// bytes formats a byte count with binary units: 1536 → "1.5 KiB".
export function bytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${Math.round(n)} B`;
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) { n /= 1024; i++; }
  const digits = n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return `${n.toFixed(digits)} ${UNITS[i]}`;
}

// rate formats bytes per second.
export const rate = (n) => `${bytes(n)}/s`;

// ratio formats a dedup ratio: 3.456 → "3.46 : 1".
export function ratio(r) {
  r = Number(r) || 0;
  if (r <= 0) return '–';
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)} : 1`;
}

// sentence capitalises the first letter of a message.
export const sentence = (s) => (s ? String(s).charAt(0).toUpperCase() + String(s).slice(1) : '');

// count formats an integer with thousands separators.
export const count = (n) => (Number(n) || 0).toLocaleString('en-US');

// percent formats a fraction in [0, 1].
export function percent(f) {
  f = Number(f) || 0;
  const p = f * 100;
  if (p > 0 && p < 0.1) return '< 0.1 %';
  return `${p > 0 && p < 1 ? p.toFixed(1) : Math.round(p)} %`;
}

function toDate(t) {
  if (!t) return null;
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) || d.getFullYear() < 1971 ? null : d;
}

const pad = (n) => String(n).padStart(2, '0');

// dateTime formats a time as "2025-05-14 13:07:42" in local time.
export function dateTime(t) {
  const d = toDate(t);
  if (!d) return '–';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// date formats a time as "2025-05-14" in local time.
export function date(t) {
  const d = toDate(t);
  return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : '–';
}

// clock formats a time as "13:07", or "13:07:42" with seconds.
export function clock(t, seconds = false) {
  const d = toDate(t);
  if (!d) return '';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
}

// ago formats a time relative to now: "just now", "5 min ago", "3 h ago",
// falling back to the date for older times.
export function ago(t, now = Date.now()) {
  const d = toDate(t);
  if (!d) return '–';
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return dateTime(d);
}

// duration formats seconds: 93784 → "1 d 2 h 3 min".
export function duration(sec) {
  sec = Math.max(0, Math.floor(Number(sec) || 0));
  const d = Math.floor(sec / 86400);
  const hr = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${m} min`;
  if (m) return `${m} min ${sec % 60} s`;
  return `${sec} s`;
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of 1024-scaled
// units so chart axes get round labels.
export function niceStep(max, ticks = 4) {
  if (!(max > 0)) return 1;
  let scale = 1;
  while (max / scale >= 1024) scale *= 1024;
  const raw = max / scale / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag * scale;
}
