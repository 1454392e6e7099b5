// 订单: filter by status, show, phone/name/order id and dates; steady
// paging with the API's cursor; an order's page with its tickets, payments
// and refunds; a refund with a reason and a confirmation; CSV of the filter.

import { api, session } from './api.js?v=__BUILD__';
import { dateTime, h, link, money, mount, notice, table } from './dom.js?v=__BUILD__';
import { field, showError } from './forms.js?v=__BUILD__';

export const ORDER_STATUS = {
  pending: '待支付', paid: '已支付', cancelled: '已取消', refunded: '已退款', used: '已使用',
};
const TICKET_STATUS = { valid: '未检票', used: '已检票', expired: '已过期' };
/** A ticket as the order's state makes it: a refund voids it, whatever the
 *  ticket row says (a voided ticket is stored as expired). */
function ticketState(o, t) {
  if (t.status === 'used') return TICKET_STATUS.used;
  if (o.status === 'refunded') return '已退款';
  if (o.status === 'cancelled') return '已作废';
  if (o.refunds.some((r) => ['processing', 'success', 'abnormal'].includes(r.status))) return '已作废（退款中）';
  return TICKET_STATUS[t.status] || t.status;
}

const REFUND_STATUS = { processing: '退款中', success: '已退款', abnormal: '异常（需人工处理）', closed: '已关闭' };
const FILTERS = ['status', 'eventId', 'keyword', 'from', 'to'];

export async function ordersPage(main, ctx) {
  if (ctx.sub) return orderPage(main, ctx, ctx.sub);
  return listPage(main, ctx);
}

async function listPage(main, { admin }) {
  const initial = new URLSearchParams(location.search);
  const c = {
    status: h('select', { id: 'orders-status' }, h('option', { value: '' }, '全部状态'),
      Object.entries(ORDER_STATUS).map(([v, l]) => h('option', { value: v }, l))),
    eventId: h('select', { id: 'orders-event' }, h('option', { value: '' }, '全部演出')),
    keyword: h('input', { id: 'orders-keyword', type: 'search', maxlength: 50, placeholder: '手机号、姓名或订单号' }),
    from: h('input', { id: 'orders-from', type: 'date' }),
    to: h('input', { id: 'orders-to', type: 'date' }),
  };
  const list = h('div', { id: 'orders-list', class: 'skeleton', 'aria-busy': 'true' });
  const more = h('div', { class: 'pager' });
  const status = h('div', { id: 'orders-status-line' });
  let rows = [];

  try {
    const shows = await api('GET', '/api/admin/events?pageSize=100');
    for (const e of shows.items) c.eventId.appendChild(h('option', { value: e.id }, `${e.eventDate} ${e.title}`));
  } catch (e) {
    mount(status, notice('error', e.message));
  }
  for (const k of FILTERS) if (initial.get(k)) c[k].value = initial.get(k);

  function query() {
    const q = new URLSearchParams();
    for (const k of FILTERS) if (c[k].value.trim()) q.set(k, c[k].value.trim());
    return q;
  }

  function draw(total) {
    mount(list, rows.length
      ? [h('p', { class: 'muted' }, `共 ${total} 个订单`),
        table([['订单号'], ['演出'], ['票档 × 数量'], ['金额', 'num'], ['联系人'], ['状态'], ['下单时间']],
          rows.map((o) => [
            link(`orders/${o.id}`, o.id, { class: 'order-link' }),
            o.event ? o.event.title : o.eventId,
            `${o.priceOption ? o.priceOption.name : ''} × ${o.quantity}`,
            money(o.totalAmount),
            `${o.userName} ${o.userPhone}`,
            h('span', { class: `badge badge-${o.status}` }, ORDER_STATUS[o.status] || o.status),
            dateTime(o.createdAt),
          ]))]
      : h('p', { class: 'empty' }, '没有符合条件的订单'));
  }

  async function load(cursor) {
    list.setAttribute('aria-busy', 'true');
    const q = query();
    q.set('pageSize', '50');
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', `/api/admin/orders?${q}`);
      rows = cursor ? rows.concat(page.items) : page.items;
      draw(page.total);
      mount(more, page.nextCursor
        ? h('button', { type: 'button', class: 'secondary', id: 'orders-more', onclick: () => load(page.nextCursor) }, '加载更多')
        : null);
      mount(status);
    } catch (e) {
      mount(status, notice('error', e.message));
    }
    list.removeAttribute('aria-busy');
  }

  function apply() {
    const q = query().toString();
    history.replaceState(null, '', `/admin/orders${q ? `?${q}` : ''}`);
    load(null);
  }
  let timer = null;
  c.keyword.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(apply, 300); });
  for (const k of ['status', 'eventId', 'from', 'to']) c[k].addEventListener('change', apply);

  async function exportCsv(button) {
    button.disabled = true;
    mount(status, h('p', { class: 'muted' }, '正在导出…'));
    try {
      // A download with the token in a header, which a plain link cannot send.
      const res = await fetch(`/api/admin/orders/export.csv?${query()}`, {
        headers: { Authorization: `Bearer ${session.token}` },
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error(body.message || '导出失败');
      }
      const name = (/filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '') || [])[1] || 'orders.csv';
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      mount(status, notice('info', `已导出 ${name}`));
    } catch (e) {
      mount(status, notice('error', e.message || '网络连接失败，请检查网络后重试'));
    }
    button.disabled = false;
  }

  const exportButton = admin.role === 'owner'
    ? h('button', { type: 'button', class: 'secondary', id: 'orders-export', onclick: (e) => exportCsv(e.currentTarget) }, '导出 CSV')
    : null;
  mount(main,
    h('div', { class: 'title-row' }, h('h1', {}, '订单'), exportButton),
    h('div', { class: 'filters' },
      h('label', { for: 'orders-status' }, '状态', c.status),
      h('label', { for: 'orders-event' }, '演出', c.eventId),
      h('label', { for: 'orders-keyword' }, '搜索', c.keyword),
      h('label', { for: 'orders-from' }, '下单日期从', c.from),
      h('label', { for: 'orders-to' }, '到', c.to)),
    status, list, more);
  await load(null);
}

async function orderPage(main, ctx, id) {
  let o;
  try {
    o = await api('GET', `/api/admin/orders/${encodeURIComponent(id)}`);
  } catch (e) {
    mount(main, h('p', {}, link('orders', '← 全部订单')), h('h1', {}, '订单'), notice('error', e.message));
    return;
  }
  const panel = h('div', { id: 'refund-panel' });
  const used = o.tickets.some((t) => t.status === 'used');
  const refundable = ['paid', 'used'].includes(o.status) && !o.refunds.some((r) => r.status === 'processing' || r.status === 'success');

  function refundForm() {
    const reason = h('input', { maxlength: 200, placeholder: '例如：观众临时有事' });
    const fields = { reason: field('refund-reason', '退款原因', reason) };
    const force = used ? h('input', { type: 'checkbox', id: 'refund-force' }) : null;
    const st = h('div', { id: 'refund-status' });
    const form = h('form', { class: 'stack card danger', id: 'refund-form' },
      h('h2', {}, '退款'),
      h('p', { id: 'refund-summary' }, `将向 ${o.userName}（${o.userPhone}）原路退回 ${money(o.totalAmount)}，${o.quantity} 张票随即作废。`),
      fields.reason.row,
      force ? h('label', { class: 'check', for: 'refund-force' }, force, '本单已有票检票入场，仍然退款') : null,
      st,
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'danger', id: 'refund-confirm' }, `确认退款 ${money(o.totalAmount)}`),
        h('button', { type: 'button', class: 'secondary', onclick: () => mount(panel) }, '不退款')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = form.querySelector('#refund-confirm');
      button.disabled = true;
      try {
        await api('PUT', `/api/admin/orders/${encodeURIComponent(o.id)}/refund`, {
          reason: reason.value, force: force ? force.checked : false,
        });
        await orderPage(main, ctx, o.id);
        const done = main.querySelector('#order-status-line');
        if (done) mount(done, notice('info', '退款已提交'));
      } catch (err) {
        showError(err, fields, st);
        button.disabled = false;
      }
    });
    mount(panel, form);
    reason.focus();
  }

  mount(main,
    h('p', {}, link('orders', '← 全部订单')),
    h('div', { class: 'title-row' }, h('h1', {}, `订单 ${o.id}`),
      h('span', { class: `badge badge-${o.status}`, id: 'order-status' }, ORDER_STATUS[o.status] || o.status)),
    h('div', { id: 'order-status-line' }),
    h('dl', { class: 'facts card' },
      h('dt', {}, '演出'), h('dd', {}, o.event ? link(`events/${o.eventId}`, `${o.event.eventDate} ${o.event.eventTime} ${o.event.title}`) : o.eventId),
      h('dt', {}, '票档'), h('dd', {}, `${o.priceOption ? o.priceOption.name : ''} · ${money(o.unitPrice)} × ${o.quantity}`),
      h('dt', {}, '金额'), h('dd', {}, money(o.totalAmount)),
      h('dt', {}, '联系人'), h('dd', {}, `${o.userName} · ${o.userPhone}`),
      h('dt', {}, '下单时间'), h('dd', {}, dateTime(o.createdAt)),
      o.paidAt ? [h('dt', {}, '支付时间'), h('dd', {}, `${dateTime(o.paidAt)}${o.transactionId ? ` · ${o.transactionId}` : ''}`)] : null,
      o.refundedAt ? [h('dt', {}, '退款时间'), h('dd', {}, dateTime(o.refundedAt))] : null,
      o.status === 'pending' ? [h('dt', {}, '支付截止'), h('dd', {}, dateTime(o.expiresAt))] : null),
    ctx.admin.role === 'owner' && refundable
      ? h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'secondary', id: 'order-refund', onclick: refundForm }, '退款'))
      : null,
    panel,
    h('h2', {}, '票券'),
    o.tickets.length
      ? table([['票号'], ['状态'], ['检票时间']], o.tickets.map((t) => [
        t.id,
        ticketState(o, t),
        dateTime(t.usedAt),
      ]))
      : h('p', { class: 'empty' }, '支付后出票'),
    o.refunds.length ? [h('h2', {}, '退款记录'), table([['时间'], ['金额', 'num'], ['状态'], ['原因']],
      o.refunds.map((r) => [dateTime(r.createdAt), money(r.amount),
        (REFUND_STATUS[r.status] || r.status) + (r.lastError ? ` · ${r.lastError}` : ''), r.reason || '']))] : null,
    o.payments.length ? [h('h2', {}, '支付通知'), table([['时间'], ['类型'], ['结果']],
      o.payments.map((p) => [dateTime(p.receivedAt), p.kind, `${p.verified ? '验签通过' : '验签失败'} · ${p.verdict}`]))] : null);
}
