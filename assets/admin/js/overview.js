// 概览: the stats of a chosen period, the daily revenue chart, the top
// shows, and tonight's shows with how many are in.

import { api } from './api.js?v=__BUILD__';
import { revenueChart } from './chart.js?v=__BUILD__';
import { h, money, mount, notice } from './dom.js?v=__BUILD__';

const PERIODS = [
  ['today', '今天'], ['thisWeek', '本周'], ['thisMonth', '本月'],
  ['lastMonth', '上月'], ['thisYear', '今年'], ['all', '全部'],
];

// Opens on today, then on whatever the owner last chose (on this device).
const PERIOD_KEY = 'st.period';
let chosen = PERIODS.some(([k]) => k === localStorage.getItem(PERIOD_KEY))
  ? localStorage.getItem(PERIOD_KEY) : 'today';

function card(label, value, sub) {
  return h('div', { class: 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    h('div', { class: 'sub' }, sub));
}

function today(zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
}

async function tonight(box, settings) {
  const day = today(settings.timezone || 'Asia/Shanghai');
  try {
    const page = await api('GET', `/api/admin/events?from=${day}&to=${day}&pageSize=20`);
    const shows = page.items.filter((e) => e.status !== 'cancelled' && e.status !== 'draft');
    if (!shows.length) {
      mount(box, h('p', { class: 'empty' }, '今天没有演出'));
      return;
    }
    const counts = await Promise.all(shows.map((e) => api('GET', `/api/admin/events/${encodeURIComponent(e.id)}/checkins`)));
    mount(box, h('div', { class: 'cards' }, shows.map((e, i) => {
      const c = counts[i];
      const pct = c.sold ? Math.round((c.checkedIn / c.sold) * 100) : 0;
      return h('div', { class: 'card' },
        h('div', { class: 'label' }, `${e.eventTime} · ${e.venue}`),
        h('div', { class: 'title' }, e.title),
        h('div', { class: 'sub' }, `已售 ${c.sold} · 余票 ${e.remainingSeats ?? '—'} · 已入场 ${c.checkedIn}`),
        h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': '入场进度' },
          h('span', { style: { width: `${pct}%` } })));
    })));
  } catch (e) {
    mount(box, notice('error', e.message));
  }
}

export async function overviewPage(main, { settings }) {
  const picker = h('div', { class: 'segmented', role: 'group', 'aria-label': '统计周期' });
  const body = h('div', { class: 'skeleton', 'aria-busy': 'true' });
  const tonightBox = h('div', { class: 'skeleton' });
  mount(main, h('h1', {}, '概览'), picker, body, h('h2', {}, '今晚的演出'), tonightBox);

  async function load() {
    mount(picker, PERIODS.map(([key, label]) => h('button', {
      type: 'button', 'aria-pressed': key === chosen ? 'true' : 'false',
      onclick: () => { chosen = key; localStorage.setItem(PERIOD_KEY, key); load(); },
    }, label)));
    body.setAttribute('aria-busy', 'true');
    try {
      const s = await api('GET', `/api/admin/stats?period=${chosen}`);
      const p = s[s.period] || {};
      mount(body,
        h('div', { class: 'cards', id: 'stats-cards' },
          card('收入', money(p.revenue), `累计 ${money(s.totalRevenue)}`),
          card('订单', String(p.orders ?? 0), `累计 ${s.totalOrders}`),
          card('购票观众', String(p.users ?? 0), `累计 ${s.totalUsers}`),
          card('演出', String(p.events ?? 0), `累计 ${s.totalEvents}`)),
        h('h2', {}, `每日收入（${s.from} 至 ${s.to}）`),
        h('div', { class: 'card' }, revenueChart(s.series)),
        h('h2', {}, '收入最高的演出'),
        s.topEvents.length
          ? h('div', { class: 'table-wrap', tabindex: 0 }, h('table', {},
            h('thead', {}, h('tr', {},
              h('th', {}, '演出'), h('th', {}, '日期'),
              h('th', { class: 'num' }, '订单'), h('th', { class: 'num' }, '票数'),
              h('th', { class: 'num' }, '收入'))),
            h('tbody', {}, s.topEvents.map((e) => h('tr', {},
              h('td', {}, e.title), h('td', {}, e.eventDate),
              h('td', { class: 'num' }, String(e.orders)), h('td', { class: 'num' }, String(e.tickets)),
              h('td', { class: 'num' }, money(e.revenue)))))))
          : h('p', { class: 'empty' }, '这段时间还没有售出的演出'));
    } catch (e) {
      mount(body, notice('error', e.message));
    }
    body.removeAttribute('aria-busy');
  }
  await Promise.all([load(), tonight(tonightBox, settings)]);
}
