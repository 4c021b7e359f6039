// Charts drawn as SVG: a time-series line chart and a capacity gauge.

import {s, h} from './dom.js';
import {clock, date, dateTime, niceStep, percent, bytes} from './format.js';

const W = 600;
const H = 210;
const PAD = {left: 74, right: 14, top: 14, bottom: 28};

// A span longer than this has dates on its time axis, not times of day.
const DATES_AFTER_MS = 36 * 3600 * 1000;

// lineChart draws series over time.
//   times:  array of Date
//   series: [{name, color, values: number[], dashed}]; a dashed series (a
//           limit, such as the capacity) is a line without an area
//   format: formats a y value for the axis and the hover readout
// Spans over 36 hours are labelled by date. The wrapper carries
// data-points (how many times) for tests.
export function lineChart({times, series, format, empty = 'No samples yet.', minTop = 1}) {
  const wrap = h('div', {class: 'chart', 'data-points': times.length});
  if (times.length < 2) {
    wrap.append(h('div', {class: 'chart-empty'}, empty));
    return wrap;
  }
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const max = Math.max(minTop, ...series.flatMap((x) => x.values));
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const t0 = times[0].getTime();
  const t1 = times[times.length - 1].getTime();
  const span = Math.max(1, t1 - t0);
  const x = (t) => PAD.left + ((t.getTime() - t0) / span) * pw;
  const y = (v) => PAD.top + ph - (v / top) * ph;

  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img'});
  // Horizontal grid and y labels.
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(s('line', {x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid'}));
    svg.append(s('text', {x: PAD.left - 8, y: y(v) + 4, 'text-anchor': 'end', class: 'tick'}, format(v)));
  }
  // Time labels: about five, at sample times.
  const secs = span < 10 * 60 * 1000;
  const dates = span > DATES_AFTER_MS;
  const at = (t) => (dates ? date(t) : clock(t, secs));
  const n = Math.min(5, times.length);
  let last = '';
  for (let i = 0; i < n; i++) {
    const idx = Math.round((i * (times.length - 1)) / (n - 1));
    const anchor = i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
    const label = at(times[idx]);
    if (label === last) continue;
    last = label;
    svg.append(s('text', {x: x(times[idx]), y: H - 8, 'text-anchor': anchor, class: 'tick'}, label));
  }
  for (const ser of series) {
    const pts = ser.values.map((v, i) => `${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`);
    const area = `M${x(times[0]).toFixed(1)},${y(0)} L${pts.join(' L')} L${x(times[times.length - 1]).toFixed(1)},${y(0)} Z`;
    if (!ser.dashed) svg.append(s('path', {d: area, fill: ser.color, opacity: 0.08}));
    svg.append(s('polyline', {points: pts.join(' '), fill: 'none', stroke: ser.color, 'stroke-width': 2,
      'stroke-linejoin': 'round', 'vector-effect': 'non-scaling-stroke', 'stroke-dasharray': ser.dashed ? '6 4' : null,
      'data-series': ser.name}));
  }
  // Hover readout.
  const guide = s('line', {y1: PAD.top, y2: PAD.top + ph, class: 'guide', visibility: 'hidden'});
  const dots = series.map((ser) => s('circle', {r: 3.5, fill: ser.color, visibility: 'hidden'}));
  svg.append(guide, ...dots);
  const readout = h('div', {class: 'chart-readout', hidden: true});
  svg.addEventListener('mousemove', (e) => {
    const r = svg.getBoundingClientRect();
    const px = ((e.clientX - r.left) / r.width) * W;
    const t = t0 + ((px - PAD.left) / pw) * span;
    let i = 0;
    for (let j = 1; j < times.length; j++) if (Math.abs(times[j] - t) < Math.abs(times[i] - t)) i = j;
    const gx = x(times[i]);
    guide.setAttribute('x1', gx); guide.setAttribute('x2', gx); guide.setAttribute('visibility', 'visible');
    dots.forEach((d, k) => {
      d.setAttribute('cx', gx); d.setAttribute('cy', y(series[k].values[i])); d.setAttribute('visibility', 'visible');
    });
    readout.replaceChildren(h('strong', {}, dates ? dateTime(times[i]) : clock(times[i], true)),
      ...series.map((ser) => h('span', {}, h('i', {style: {background: ser.color}}), `${ser.name} ${format(ser.values[i])}`)));
    readout.hidden = false;
  });
  svg.addEventListener('mouseleave', () => {
    guide.setAttribute('visibility', 'hidden');
    dots.forEach((d) => d.setAttribute('visibility', 'hidden'));
    readout.hidden = true;
  });
  const legend = h('div', {class: 'chart-legend'},
    series.map((ser) => h('span', {}, h('i', {style: {background: ser.color}}), ser.name)));
  wrap.append(legend, svg, readout);
  return wrap;
}

// gauge draws a half-ring showing used of capacity.
export function gauge(used, capacity) {
  const frac = capacity > 0 ? Math.min(1, used / capacity) : 0;
  const r = 80;
  const cx = 100;
  const cy = 96;
  const arc = (f) => {
    const a = Math.PI * (1 - f);
    return `${(cx + r * Math.cos(a)).toFixed(2)},${(cy - r * Math.sin(a)).toFixed(2)}`;
  };
  const level = frac >= 0.9 ? 'crit' : frac >= 0.75 ? 'warn' : 'ok';
  const svg = s('svg', {viewBox: '0 0 200 112', class: `gauge gauge-${level}`, role: 'img',
    'aria-label': `${percent(frac)} of capacity used`},
  s('path', {d: `M${arc(0)} A${r},${r} 0 0 1 ${arc(1)}`, class: 'gauge-track'}),
  frac > 0 ? s('path', {d: `M${arc(0)} A${r},${r} 0 0 1 ${arc(Math.max(frac, 0.004))}`, class: 'gauge-fill'}) : null,
  s('text', {x: cx, y: cy - 14, 'text-anchor': 'middle', class: 'gauge-value'}, percent(frac)),
  s('text', {x: cx, y: cy + 6, 'text-anchor': 'middle', class: 'gauge-label'}, 'used'));
  return h('div', {class: 'gauge-wrap'}, svg,
    h('div', {class: 'gauge-caption'}, h('strong', {}, bytes(used)), ' of ', bytes(capacity)));
}
