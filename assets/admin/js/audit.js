// 操作日志: who changed what, newest first, filterable by kind, a page at
// a time.

import { api } from './api.js?v=__BUILD__';
import { dateTime, h, mount, notice } from './dom.js?v=__BUILD__';

const KINDS = [
  ['', '全部'], ['event', '演出'], ['order', '订单'], ['ticket', '票券'], ['banner', '横幅'],
  ['merch', '周边'], ['tenant', '设置'], ['admin', '员工'], ['upload', '图片'],
];

const ACTIONS = {
  event_created: '创建演出', event_updated: '修改演出', event_deleted: '删除演出',
  event_cancelled: '取消演出', stock_changed: '调整库存', refund_requested: '申请退款',
  checkin_forced: '强制放行', checkin_undone: '撤销检票', banner_created: '新增横幅',
  banner_updated: '修改横幅', banner_deleted: '删除横幅', banner_reordered: '横幅排序',
  merch_created: '新增周边', merch_updated: '修改周边', merch_deleted: '删除周边',
  merch_reordered: '周边排序', tenant_updated: '修改设置', admin_created: '新增员工',
  admin_updated: '修改员工', admin_password_reset: '重设密码', admin_password_changed: '修改密码',
  admin_locked: '账号锁定', upload_created: '上传图片', upload_deleted: '删除图片',
};

function who(e) {
  if (e.actorName) return e.actorName;
  if (e.actor === 'system') return '系统';
  if (e.actor === 'cli') return '服务器命令行';
  if (e.actor.startsWith('user:')) return '观众';
  return e.actor;
}

export async function auditPage(main) {
  const kind = h('select', { id: 'audit-kind' }, KINDS.map(([v, l]) => h('option', { value: v }, l)));
  const list = h('div', { 'aria-busy': 'true', class: 'skeleton' });
  const pager = h('div', { class: 'pager' });
  let page = 1;
  async function load() {
    list.setAttribute('aria-busy', 'true');
    const q = new URLSearchParams({ page: String(page), pageSize: '20' });
    if (kind.value) q.set('targetType', kind.value);
    try {
      const data = await api('GET', `/api/admin/audit-log?${q}`);
      mount(list, data.items.length
        ? h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, h('th', {}, '时间'), h('th', {}, '操作人'),
            h('th', {}, '操作'), h('th', {}, '对象'))),
          h('tbody', {}, data.items.map((e) => h('tr', {},
            h('td', {}, dateTime(e.createdAt)),
            h('td', {}, who(e)),
            h('td', {}, ACTIONS[e.action] || e.action),
            h('td', { class: 'muted' }, [e.targetType, e.targetId].filter(Boolean).join(' ')))))))
        : h('p', { class: 'empty' }, '没有记录'));
      mount(pager,
        h('button', { type: 'button', class: 'secondary', disabled: page <= 1,
          onclick: () => { page -= 1; load(); } }, '上一页'),
        h('span', { class: 'muted' }, ` 第 ${data.page} / ${Math.max(1, data.totalPages)} 页 `),
        h('button', { type: 'button', class: 'secondary', disabled: page >= data.totalPages,
          onclick: () => { page += 1; load(); } }, '下一页'));
    } catch (e) {
      mount(list, notice('error', e.message));
    }
    list.removeAttribute('aria-busy');
  }
  kind.addEventListener('change', () => { page = 1; load(); });
  mount(main, h('h1', {}, '操作日志'), h('label', { for: 'audit-kind' }, '类别', kind), list, pager);
  await load();
}
