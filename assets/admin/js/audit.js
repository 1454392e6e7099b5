// 操作日志: who changed what, newest first, filterable by kind, a page at
// a time.

import { api } from './api.js?v=__BUILD__';
import { dateTime, h, mount, notice } from './dom.js?v=__BUILD__';

const KINDS = [
  ['', '全部'], ['event', '演出'], ['order', '订单'], ['ticket', '票券'], ['banner', '横幅'],
  ['merch', '周边'], ['tenant', '设置'], ['admin', '员工'], ['upload', '图片'],
];

// Every action the server records, as the owner reads it.
const ACTIONS = {
  event_created: '创建演出', event_updated: '修改演出', event_deleted: '删除演出',
  event_published: '发布演出', event_unpublished: '下架演出', event_duplicated: '复制演出',
  event_cancelled: '取消演出', stock_changed: '调整库存',
  refund_requested: '申请退款', refund_success: '退款成功', refund_closed: '退款关闭',
  refund_abnormal: '退款异常', unexpected_second_payment: '重复支付（已记录）',
  checkin_forced: '强制放行', checkin_undone: '撤销检票',
  banner_created: '新增横幅', banner_updated: '修改横幅', banner_deleted: '删除横幅',
  banner_reordered: '横幅排序', merch_created: '新增周边', merch_updated: '修改周边',
  merch_deleted: '删除周边', merch_reordered: '周边排序',
  tenant_created: '创建俱乐部', tenant_updated: '修改设置', tenant_status_set: '俱乐部启用/停用',
  admin_created: '新增员工', admin_updated: '修改员工', admin_password_reset: '重设密码',
  admin_password_changed: '修改密码', admin_password_set: '命令行设置密码',
  admin_status_set: '命令行启用/停用员工', admin_locked: '密码错误过多，锁定登录',
  admin_signed_out: '退出所有设备', upload_created: '上传图片', upload_deleted: '删除图片',
};

const TARGETS = {
  event: '演出', order: '订单', ticket: '票券', banner: '横幅', merch: '周边',
  tenant: '设置', admin: '员工', upload: '图片',
};

// The fields a before/after names, in Chinese where the console has a word.
const FIELDS = {
  title: '标题', status: '状态', role: '角色', displayName: '显示名', name: '名称',
  price: '价格', totalCount: '总量', remainingCount: '余量', eventDate: '日期',
  eventTime: '时间', venue: '场地', address: '地址', city: '城市', reason: '原因',
  amount: '金额', force: '强制', failures: '连续错误次数', lockedUntil: '锁定至',
  username: '用户名', sortOrder: '排序', image: '图片', link: '链接',
  saleStartAt: '开售时间', saleEndAt: '停售时间', maxPerOrder: '每单限购', maxPerUser: '每人限购',
};

const WORDS = {
  owner: '店主', staff: '员工', active: '启用', disabled: '停用', draft: '草稿', onSale: '售票中',
  upcoming: '即将开售', soldOut: '已售罄', cancelled: '已取消', ended: '已结束',
  true: '是', false: '否',
};

function show(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string' || typeof v === 'boolean') return WORDS[String(v)] || String(v);
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** The detail as a person reads it: "字段：旧 → 新" for a before/after. */
function detailText(d) {
  if (!d || typeof d !== 'object') return '';
  const label = (k) => FIELDS[k] || k;
  if (d.before && d.after && typeof d.before === 'object') {
    return Object.keys({ ...d.before, ...d.after })
      .filter((k) => JSON.stringify(d.before[k]) !== JSON.stringify(d.after[k]))
      .map((k) => `${label(k)}：${show(d.before[k])} → ${show(d.after[k])}`)
      .join('；');
  }
  return Object.entries(d)
    .filter(([k, v]) => v !== null && v !== undefined && typeof v !== 'object'
      && !['order', 'event', 'device', 'detail'].includes(k))
    .map(([k, v]) => `${label(k)}：${show(v)}`)
    .join('；');
}

function target(e) {
  const kind = TARGETS[e.targetType] || e.targetType || '';
  const name = e.targetName || (e.targetId ? `（已删除 ${e.targetId.slice(-6)}）` : '');
  return [kind, name].filter(Boolean).join(' ');
}

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
        ? h('div', { class: 'table-wrap', tabindex: 0 }, h('table', {},
          h('thead', {}, h('tr', {}, h('th', {}, '时间'), h('th', {}, '操作人'),
            h('th', {}, '操作'), h('th', {}, '对象'), h('th', {}, '内容'))),
          h('tbody', {}, data.items.map((e) => h('tr', {},
            h('td', { class: 'num' }, dateTime(e.createdAt)),
            h('td', {}, who(e)),
            h('td', {}, ACTIONS[e.action] || '其他操作'),
            h('td', {}, target(e)),
            h('td', { class: 'muted' }, detailText(e.detail)))))))
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
