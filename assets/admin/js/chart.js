// A day-by-day bar chart of revenue, drawn as SVG: axes, a tooltip on
// hover and keyboard focus, and an empty state.

import { h, money } from './dom.js?v=__BUILD__';

const W = 720;
const H = 240;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** `days`: [{date, revenue, orders, tickets}] */
export function revenueChart(days) {
  if (!days.length || days.every((d) => !d.revenue && !d.orders)) {
    return h('p', { class: 'empty' }, '这段时间还没有订单');
  }
  const max = niceMax(Math.max(...days.map((d) => Number(d.revenue) || 0)));
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const step = innerW / days.length;
  const barW = Math.max(2, Math.min(28, step * 0.7));
  const y = (v) => PAD.top + innerH - (v / max) * innerH;
  const wrap = h('div', { class: 'chart-wrap' });
  const tip = h('div', { class: 'tip', hidden: true });
  const svg = h('svg:svg', {
    // A group of labelled bars: each bar is an image a keyboard can reach
    // (inside role="img" they would be hidden from assistive technology).
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-label': '每日收入',
  });
  for (let i = 0; i <= 4; i += 1) {
    const v = (max / 4) * i;
    svg.appendChild(h('svg:line', {
      class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v),
    }));
    svg.appendChild(h('svg:text', {
      class: 'tick', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end',
    }, money(v).replace('.00', '')));
  }
  const labelEvery = Math.ceil(days.length / 8);
  days.forEach((d, i) => {
    const x = PAD.left + i * step + (step - barW) / 2;
    const v = Number(d.revenue) || 0;
    const text = `${d.date}：${money(v)} · ${d.orders} 单 · ${d.tickets} 张`;
    const bar = h('svg:rect', {
      class: 'bar', x, y: y(v), width: barW, height: Math.max(0, PAD.top + innerH - y(v)),
      tabindex: 0, role: 'img', 'aria-label': text,
    });
    const show = () => {
      tip.textContent = text;
      tip.hidden = false;
      const box = svg.getBoundingClientRect();
      tip.style.left = `${((x + barW / 2) / W) * box.width}px`;
      tip.style.top = `${(y(v) / H) * box.height - 34}px`;
    };
    const hide = () => { tip.hidden = true; };
    bar.addEventListener('mouseenter', show);
    bar.addEventListener('focus', show);
    bar.addEventListener('mouseleave', hide);
    bar.addEventListener('blur', hide);
    svg.appendChild(bar);
    if (i % labelEvery === 0) {
      svg.appendChild(h('svg:text', {
        class: 'tick', x: x + barW / 2, y: H - 8, 'text-anchor': 'middle',
      }, d.date.slice(5)));
    }
  });
  wrap.append(svg, tip);
  return wrap;
}
