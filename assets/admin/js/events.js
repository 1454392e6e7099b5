// 演出: the list (status filter, search, pages), the create/edit form with
// price options, and a show's page with its sales by option, publish,
// duplicate for next week, and cancel with live refund progress.

import { api } from './api.js?v=__BUILD__';
import {
  addDays, dateTime, fromLocalInput, h, link, localInput, money, mount, notice, table, today,
} from './dom.js?v=__BUILD__';
import { clearErrors, field, imageField, showError, value } from './forms.js?v=__BUILD__';

export const STATUS = {
  draft: '草稿', upcoming: '即将开售', onSale: '售票中', soldOut: '已售罄', cancelled: '已取消',
};

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status}` }, STATUS[status] || status);
}

export async function eventsPage(main, ctx) {
  if (ctx.sub === 'new') return editPage(main, ctx, null);
  if (ctx.sub.endsWith('/edit')) return editPage(main, ctx, ctx.sub.slice(0, -5));
  if (ctx.sub) return showPage(main, ctx, ctx.sub);
  return listPage(main, ctx);
}

async function listPage(main, { admin }) {
  const status = h('select', { id: 'events-status' },
    h('option', { value: '' }, '全部状态'),
    Object.entries(STATUS).map(([v, l]) => h('option', { value: v }, l)));
  const keyword = h('input', { id: 'events-keyword', type: 'search', placeholder: '标题、场地、演员', maxlength: 50 });
  const list = h('div', { class: 'skeleton', 'aria-busy': 'true', id: 'events-list' });
  const pager = h('div', { class: 'pager' });
  let page = 1;
  async function load() {
    list.setAttribute('aria-busy', 'true');
    const q = new URLSearchParams({ page: String(page), pageSize: '20' });
    if (status.value) q.set('status', status.value);
    if (keyword.value.trim()) q.set('keyword', keyword.value.trim());
    try {
      const data = await api('GET', `/api/admin/events?${q}`);
      mount(list, data.items.length
        ? table([['演出时间'], ['标题'], ['状态'], ['已售 / 座位', 'num'], ['收入', 'num']],
          data.items.map((e) => [
            `${e.eventDate} ${e.eventTime}`,
            link(`events/${e.id}`, e.title, { class: 'event-title' }),
            statusBadge(e.status),
            `${e.sold} / ${e.totalSeats}`,
            money(e.revenue),
          ]))
        : h('p', { class: 'empty' }, keyword.value || status.value ? '没有符合条件的演出' : '还没有演出'));
      mount(pager,
        h('button', { type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => { page -= 1; load(); } }, '上一页'),
        h('span', { class: 'muted' }, ` 第 ${data.page} / ${Math.max(1, data.totalPages)} 页，共 ${data.total} 场 `),
        h('button', { type: 'button', class: 'secondary', disabled: page >= data.totalPages, onclick: () => { page += 1; load(); } }, '下一页'));
    } catch (e) {
      mount(list, notice('error', e.message));
    }
    list.removeAttribute('aria-busy');
  }
  let timer = null;
  keyword.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { page = 1; load(); }, 300); });
  status.addEventListener('change', () => { page = 1; load(); });
  mount(main,
    h('div', { class: 'title-row' }, h('h1', {}, '演出'),
      admin.role === 'owner' ? link('events/new', '新建演出', { class: 'button', id: 'events-new' }) : null),
    h('div', { class: 'filters' },
      h('label', { for: 'events-status' }, '状态', status),
      h('label', { for: 'events-keyword' }, '搜索', keyword)),
    list, pager);
  await load();
}

/** One price option's row in the form; `o` is from the API or empty. */
function optionRow(o, rows, redraw) {
  const r = {
    id: o.id || null,
    name: h('input', { value: o.name || '', 'aria-label': '票档名称', maxlength: 50 }),
    price: h('input', { value: o.price ?? '', inputmode: 'decimal', 'aria-label': '价格（元）' }),
    originalPrice: h('input', { value: o.originalPrice ?? '', inputmode: 'decimal', 'aria-label': '原价（元）' }),
    totalCount: h('input', { value: o.totalCount ?? '', inputmode: 'numeric', 'aria-label': '数量' }),
    description: h('input', { value: o.description || '', 'aria-label': '说明', maxlength: 200 }),
    enabled: h('input', { type: 'checkbox', checked: o.status !== 'disabled', 'aria-label': '在售' }),
    error: h('span', { class: 'field-error', role: 'alert' }),
  };
  const move = (d) => {
    const i = rows.indexOf(r);
    const j = i + d;
    if (j < 0 || j >= rows.length) return;
    [rows[i], rows[j]] = [rows[j], rows[i]];
    redraw();
  };
  r.el = () => h('fieldset', { class: 'option' },
    h('legend', {}, `票档 ${rows.indexOf(r) + 1}`),
    h('div', { class: 'option-grid' },
      h('label', {}, '名称', r.name), h('label', {}, '价格（元）', r.price),
      h('label', {}, '原价（元，可空）', r.originalPrice), h('label', {}, '数量', r.totalCount),
      h('label', { class: 'wide' }, '说明（可空）', r.description),
      h('label', { class: 'check' }, r.enabled, '在售')),
    r.error,
    h('div', { class: 'option-actions' },
      h('button', { type: 'button', class: 'secondary', disabled: rows.indexOf(r) === 0, onclick: () => move(-1) }, '上移'),
      h('button', { type: 'button', class: 'secondary', disabled: rows.indexOf(r) === rows.length - 1, onclick: () => move(1) }, '下移'),
      h('button', { type: 'button', class: 'secondary', disabled: rows.length === 1, onclick: () => { rows.splice(rows.indexOf(r), 1); redraw(); } }, '删除')));
  return r;
}

function number(input) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

async function editPage(main, { navigate }, id) {
  let e = null;
  if (id) {
    try {
      e = await api('GET', `/api/admin/events/${encodeURIComponent(id)}`);
    } catch (err) {
      mount(main, h('h1', {}, '编辑演出'), notice('error', err.message));
      return;
    }
  }
  const v = e || {};
  const fields = {};
  const add = (key, id2, label, input) => { fields[key] = field(id2, label, input); return fields[key].row; };
  const status = h('div', { id: 'event-form-status' });
  const rows = [];
  const optionsBox = h('div', { class: 'options', id: 'event-options' });
  const redraw = () => mount(optionsBox, rows.map((r) => r.el()));
  for (const o of (v.priceOptions && v.priceOptions.length ? v.priceOptions : [{}])) rows.push(optionRow(o, rows, redraw));
  redraw();
  fields.poster = imageField('ev-poster', '海报', v.poster);

  const form = h('form', { class: 'stack card event-form', id: 'event-form', novalidate: true },
    add('title', 'ev-title', '标题', h('input', { value: v.title || '', maxlength: 100 })),
    fields.poster.rows,
    h('div', { class: 'grid-2' },
      add('eventDate', 'ev-date', '日期', h('input', { type: 'date', value: v.eventDate || '' })),
      add('eventTime', 'ev-time', '开演时间', h('input', { type: 'time', value: v.eventTime || '20:00' })),
      add('duration', 'ev-duration', '时长（分钟）', h('input', { inputmode: 'numeric', value: v.duration ?? 90 })),
      add('city', 'ev-city', '城市', h('input', { value: v.city || '', maxlength: 50 })),
      add('venue', 'ev-venue', '场地', h('input', { value: v.venue || '', maxlength: 100 })),
      add('address', 'ev-address', '地址', h('input', { value: v.address || '', maxlength: 200 }))),
    add('performers', 'ev-performers', '演员（用逗号分隔）', h('input', { value: (v.performers || []).join('，') })),
    add('tags', 'ev-tags', '标签（用逗号分隔）', h('input', { value: (v.tags || []).join('，') })),
    add('description', 'ev-description', '介绍', h('textarea', { rows: 4, maxlength: 5000 }, v.description || '')),
    h('h2', {}, '售票'),
    h('div', { class: 'grid-2' },
      add('saleStartAt', 'ev-sale-start', '开售时间（可空：立即开售）', h('input', { type: 'datetime-local', value: localInput(v.saleStartAt) })),
      add('saleEndAt', 'ev-sale-end', '停售时间（可空：开演时）', h('input', { type: 'datetime-local', value: localInput(v.saleEndAt) })),
      add('maxPerOrder', 'ev-max-order', '每单最多（张）', h('input', { inputmode: 'numeric', value: v.maxPerOrder ?? 6 })),
      add('maxPerUser', 'ev-max-user', '每人最多（张）', h('input', { inputmode: 'numeric', value: v.maxPerUser ?? 10 }))),
    h('label', { class: 'check', for: 'ev-recommended' },
      h('input', { type: 'checkbox', id: 'ev-recommended', checked: !!v.isRecommended }), '首页推荐'),
    h('h2', {}, '票档'),
    optionsBox,
    h('button', {
      type: 'button', class: 'secondary', id: 'event-add-option',
      onclick: () => { rows.push(optionRow({}, rows, redraw)); redraw(); rows[rows.length - 1].name.focus(); },
    }, '添加票档'),
    status,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', value: 'keep', id: 'event-save' }, e && e.status !== 'draft' ? '保存' : '保存草稿'),
      !e || e.status === 'draft'
        ? h('button', { type: 'submit', value: 'publish', class: 'secondary', id: 'event-save-publish' }, '保存并发布')
        : null,
      link(e ? `events/${e.id}` : 'events', '返回', { class: 'button secondary' })));

  const split = (s) => s.split(/[,，、]/).map((x) => x.trim()).filter(Boolean);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const publish = ev.submitter && ev.submitter.value === 'publish';
    mount(status);
    rows.forEach((r) => { r.error.textContent = ''; });
    const f = (k) => fields[k].input;
    const body = {
      title: f('title').value,
      poster: value(f('poster')),
      eventDate: f('eventDate').value,
      eventTime: f('eventTime').value,
      duration: number(f('duration')),
      city: f('city').value,
      venue: f('venue').value,
      address: f('address').value,
      performers: split(f('performers').value),
      tags: split(f('tags').value),
      description: value(f('description')),
      saleStartAt: fromLocalInput(f('saleStartAt').value),
      saleEndAt: fromLocalInput(f('saleEndAt').value),
      maxPerOrder: number(f('maxPerOrder')),
      maxPerUser: number(f('maxPerUser')),
      isRecommended: form.querySelector('#ev-recommended').checked,
      status: publish ? 'onSale' : (e ? (e.status === 'draft' ? 'draft' : 'onSale') : 'draft'),
      priceOptions: rows.map((r, i) => ({
        id: r.id || undefined,
        name: r.name.value,
        price: number(r.price),
        originalPrice: number(r.originalPrice),
        totalCount: number(r.totalCount),
        description: value(r.description),
        sortOrder: i,
        status: r.enabled.checked ? 'active' : 'disabled',
      })),
    };
    if (e) body.version = e.version;
    const buttons = form.querySelectorAll('button[type=submit]');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const saved = e
        ? await api('PUT', `/api/admin/events/${encodeURIComponent(e.id)}`, body)
        : await api('POST', '/api/admin/events', body);
      clearErrors(fields);
      navigate(`events/${saved.id}`);
    } catch (err) {
      // "priceOptions[1].price：…" goes under that option.
      const m = err.field && /^priceOptions\[(\d+)\]/.exec(err.field);
      if (m && rows[Number(m[1])]) {
        clearErrors(fields);
        rows[Number(m[1])].error.textContent = err.message;
      } else {
        showError(err, fields, status);
      }
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  mount(main, h('h1', {}, e ? `编辑：${e.title}` : '新建演出'), form);
  fields.title.input.focus();
}

async function showPage(main, { admin, navigate }, id) {
  let e;
  try {
    e = await api('GET', `/api/admin/events/${encodeURIComponent(id)}`);
  } catch (err) {
    mount(main, h('h1', {}, '演出'), notice('error', err.message));
    return;
  }
  const owner = admin.role === 'owner';
  const status = h('div', { id: 'event-status' });
  const panel = h('div', { id: 'event-panel' });
  const progress = h('div', { id: 'event-refunds' });
  const act = async (fn) => {
    mount(status);
    try { await fn(); } catch (err) { mount(status, notice('error', err.message)); }
  };

  function editable() {
    return {
      title: e.title, poster: e.poster || null, eventDate: e.eventDate, eventTime: e.eventTime,
      duration: e.duration, city: e.city, venue: e.venue, address: e.address,
      performers: e.performers, tags: e.tags, description: e.description || null,
      saleStartAt: e.saleStartAt || null, saleEndAt: e.saleEndAt || null,
      maxPerOrder: e.maxPerOrder, maxPerUser: e.maxPerUser, isRecommended: e.isRecommended,
      version: e.version,
      priceOptions: e.priceOptions.map((o) => ({
        id: o.id, name: o.name, price: o.price, originalPrice: o.originalPrice ?? null,
        totalCount: o.totalCount, description: o.description || null, sortOrder: o.sortOrder, status: o.status,
      })),
    };
  }

  const publish = () => act(async () => {
    await api('PUT', `/api/admin/events/${encodeURIComponent(e.id)}`, { ...editable(), status: 'onSale' });
    await showPage(main, { admin, navigate }, e.id);
  });

  function duplicateForm() {
    const date = h('input', { type: 'date', id: 'dup-date', value: addDays(e.eventDate, 7) });
    const time = h('input', { type: 'time', id: 'dup-time', value: e.eventTime });
    const fields = { eventDate: field('dup-date', '新日期', date), eventTime: field('dup-time', '开演时间', time) };
    const st = h('div');
    const form = h('form', { class: 'stack card', id: 'dup-form' },
      h('h2', {}, '复制为新演出'), fields.eventDate.row, fields.eventTime.row, st,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, '复制为草稿'),
        h('button', { type: 'button', class: 'secondary', onclick: () => mount(panel) }, '取消')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const copy = await api('POST', `/api/admin/events/${encodeURIComponent(e.id)}/duplicate`,
          { eventDate: date.value, eventTime: time.value });
        navigate(`events/${copy.id}/edit`);
      } catch (err) {
        showError(err, fields, st);
      }
    });
    mount(panel, form);
    date.focus();
  }

  async function cancelForm() {
    mount(panel, h('p', { class: 'muted' }, '正在统计已支付订单…'));
    let paid = 0;
    try {
      const [p, u] = await Promise.all(['paid', 'used'].map((s) => api('GET',
        `/api/admin/orders?eventId=${encodeURIComponent(e.id)}&status=${s}&pageSize=1`)));
      paid = p.total + u.total;
    } catch (err) {
      mount(panel, notice('error', err.message));
      return;
    }
    const reason = h('input', { maxlength: 200, placeholder: '将随退款通知观众' });
    const fields = { reason: field('cancel-reason', '取消原因', reason) };
    const st = h('div');
    const form = h('form', { class: 'stack card danger', id: 'cancel-form' },
      h('h2', {}, '取消演出'),
      h('p', { id: 'cancel-count' }, paid
        ? `将立即停售，并为 ${paid} 个已支付订单全额退款（共 ${money(e.revenue)}）。此操作不能撤销。`
        : '将立即停售。目前没有已支付的订单。此操作不能撤销。'),
      fields.reason.row, st,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'danger', id: 'cancel-confirm' }, '确认取消演出'),
        h('button', { type: 'button', class: 'secondary', onclick: () => mount(panel) }, '不取消')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        e = await api('POST', `/api/admin/events/${encodeURIComponent(e.id)}/cancel`, { reason: reason.value });
        await showPage(main, { admin, navigate }, e.id);
      } catch (err) {
        showError(err, fields, st);
      }
    });
    mount(panel, form);
    reason.focus();
  }

  async function deleteShow() {
    if (!window.confirm(`删除草稿“${e.title}”？`)) return;
    await act(async () => {
      await api('DELETE', `/api/admin/events/${encodeURIComponent(e.id)}`);
      navigate('events');
    });
  }

  function drawRefunds() {
    const r = e.refunds;
    if (!r) return;
    const pct = r.refundsTotal ? Math.round((r.refundsDone * 100) / r.refundsTotal) : 100;
    mount(progress, h('div', { class: 'card' },
      h('div', { class: 'title' }, '退款进度'),
      h('p', {}, `已退款 ${r.refundsDone} / ${r.refundsTotal}`,
        r.refundsFailed ? ` · ${r.refundsFailed} 笔失败，将自动重试` : ''),
      h('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 },
        h('span', { style: { width: `${pct}%` } })),
      r.lastError ? h('p', { class: 'muted' }, `最近一次错误：${r.lastError}`) : null));
  }

  // While refunds are under way, follow them on this page.
  async function follow() {
    while (main.isConnected && e.refunds && e.refunds.refundsDone + e.refunds.refundsFailed < e.refunds.refundsTotal) {
      await new Promise((r) => { setTimeout(r, 2000); });
      if (!main.isConnected || !progress.isConnected) return;
      try {
        e = await api('GET', `/api/admin/events/${encodeURIComponent(e.id)}`);
        drawRefunds();
      } catch {
        return;
      }
    }
  }

  const actions = owner && e.status !== 'cancelled' ? h('div', { class: 'form-actions' },
    link(`events/${e.id}/edit`, '编辑', { class: 'button', id: 'event-edit' }),
    e.status === 'draft' ? h('button', { type: 'button', id: 'event-publish', onclick: publish }, '发布') : null,
    h('button', { type: 'button', class: 'secondary', id: 'event-duplicate', onclick: duplicateForm }, '复制到下周'),
    e.status === 'draft' && !e.sold && !e.held
      ? h('button', { type: 'button', class: 'secondary', onclick: deleteShow }, '删除')
      : h('button', { type: 'button', class: 'secondary', id: 'event-cancel', onclick: cancelForm }, '取消演出'))
    : (owner ? h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'secondary', id: 'event-duplicate', onclick: duplicateForm }, '复制到下周')) : null);

  const sales = table([['票档'], ['价格', 'num'], ['已售', 'num'], ['待支付', 'num'], ['剩余', 'num'], ['收入', 'num']],
    e.priceOptions.map((o) => [
      o.status === 'disabled' ? `${o.name}（停售）` : o.name, money(o.price), o.sold ?? 0, o.held ?? 0,
      `${o.remainingCount} / ${o.totalCount}`, money(o.revenue),
    ]));
  mount(main,
    h('p', {}, link('events', '← 全部演出')),
    h('div', { class: 'title-row' }, h('h1', { id: 'event-title' }, e.title), statusBadge(e.status)),
    h('div', { class: 'event-head' },
      e.poster ? h('img', { class: 'poster', src: e.poster, alt: '海报' }) : null,
      h('dl', { class: 'facts' },
        h('dt', {}, '时间'), h('dd', {}, `${e.eventDate} ${e.eventTime} · ${e.duration} 分钟`),
        h('dt', {}, '场地'), h('dd', {}, `${e.city} · ${e.venue} · ${e.address}`),
        h('dt', {}, '开售'), h('dd', {}, e.saleStartAt ? dateTime(e.saleStartAt) : '发布即开售'),
        e.saleEndAt ? [h('dt', {}, '停售'), h('dd', {}, dateTime(e.saleEndAt))] : null,
        h('dt', {}, '限购'), h('dd', {}, `每单 ${e.maxPerOrder} 张 · 每人 ${e.maxPerUser} 张`),
        e.performers.length ? [h('dt', {}, '演员'), h('dd', {}, e.performers.join('、'))] : null,
        e.cancelReason ? [h('dt', {}, '取消原因'), h('dd', {}, e.cancelReason)] : null)),
    h('div', { class: 'cards' },
      h('div', { class: 'card' }, h('div', { class: 'label' }, '已售'), h('div', { class: 'value', id: 'event-sold' }, `${e.sold} / ${e.totalSeats}`)),
      h('div', { class: 'card' }, h('div', { class: 'label' }, '收入'), h('div', { class: 'value' }, money(e.revenue))),
      h('div', { class: 'card' }, h('div', { class: 'label' }, '待支付'), h('div', { class: 'value' }, e.held))),
    actions, status, panel, progress,
    h('h2', {}, '各票档销售'), h('div', { id: 'event-sales' }, sales),
    h('p', {}, link(`orders?eventId=${encodeURIComponent(e.id)}`, '查看本场订单')),
    e.eventDate === today() && e.status !== 'cancelled' ? h('p', {}, link('door', '去检票')) : null);
  drawRefunds();
  follow();
}
