// 首页内容: the mini-program's home banners and merch. Each list can be
// reordered by dragging a row or with its buttons (saved at once), and an
// item is added or edited in the form below its list.

import { api } from './api.js?v=__BUILD__';
import { dateTime, fromLocalInput, h, localInput, money, mount, notice } from './dom.js?v=__BUILD__';
import { clearErrors, field, imageField, showError, value } from './forms.js?v=__BUILD__';

function numberOrText(input) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

const KINDS = [
  {
    key: 'banners', title: '轮播图', noun: '轮播图',
    summary: (b) => [b.title || '（无标题）',
      b.startsAt || b.endsAt ? `${b.startsAt ? dateTime(b.startsAt) : '现在'} 至 ${b.endsAt ? dateTime(b.endsAt) : '长期'}` : '长期展示'],
    image: (b) => b.image,
    form: (b, add) => [
      imageField('banner-image', '图片', b.image),
      add('title', 'banner-title', '标题（可空）', h('input', { value: b.title || '', maxlength: 50 })),
      add('link', 'banner-link', '链接（小程序页面或 https 地址，可空）', h('input', { value: b.link || '' })),
      add('eventId', 'banner-event', '关联演出 ID（可空）', h('input', { value: b.eventId || '' })),
      add('startsAt', 'banner-starts', '开始展示（可空）', h('input', { type: 'datetime-local', value: localInput(b.startsAt) })),
      add('endsAt', 'banner-ends', '结束展示（可空）', h('input', { type: 'datetime-local', value: localInput(b.endsAt) })),
    ],
    body: (f) => ({
      image: f.image.input.value.trim(),
      title: value(f.title.input),
      link: value(f.link.input),
      eventId: value(f.eventId.input),
      startsAt: fromLocalInput(f.startsAt.input.value),
      endsAt: fromLocalInput(f.endsAt.input.value),
    }),
  },
  {
    key: 'merch', title: '周边商品', noun: '商品',
    summary: (m) => [m.name, `${money(m.price)}${m.originalPrice ? ` · 原价 ${money(m.originalPrice)}` : ''}`],
    image: (m) => m.image,
    form: (m, add) => [
      add('name', 'merch-name', '名称', h('input', { value: m.name || '', maxlength: 50 })),
      imageField('merch-image', '图片', m.image),
      add('price', 'merch-price', '价格（元）', h('input', { value: m.price ?? '', inputmode: 'decimal' })),
      add('originalPrice', 'merch-original', '原价（元，可空）', h('input', { value: m.originalPrice ?? '', inputmode: 'decimal' })),
      add('link', 'merch-link', '购买链接（可空）', h('input', { value: m.link || '' })),
      add('description', 'merch-description', '介绍（可空）', h('textarea', { rows: 3, maxlength: 500 }, m.description || '')),
    ],
    body: (f) => ({
      name: f.name.input.value,
      image: value(f.image.input),
      price: numberOrText(f.price.input),
      originalPrice: numberOrText(f.originalPrice.input),
      link: value(f.link.input),
      description: value(f.description.input),
    }),
  },
];

function section(kind, owner) {
  const box = h('section', { class: 'content-section', id: `content-${kind.key}` });
  const list = h('div', { class: 'skeleton', 'aria-busy': 'true' });
  const status = h('div');
  const editor = h('div');
  let items = [];
  let dragged = null;

  async function reorder(next) {
    const before = items;
    items = next;
    draw();
    try {
      await api('PUT', `/api/admin/${kind.key}/order`, { ids: items.map((x) => x.id) });
      mount(status, notice('info', '顺序已保存'));
    } catch (e) {
      items = before;
      draw();
      mount(status, notice('error', e.message));
    }
  }

  function move(i, d) {
    const j = i + d;
    if (j < 0 || j >= items.length) return;
    const next = items.slice();
    [next[i], next[j]] = [next[j], next[i]];
    reorder(next);
  }

  async function toggle(item) {
    try {
      const full = await api('GET', `/api/admin/${kind.key}/${item.id}`);
      await api('PUT', `/api/admin/${kind.key}/${item.id}`, { ...full, status: full.status === 'active' ? 'disabled' : 'active' });
      await load();
    } catch (e) {
      mount(status, notice('error', e.message));
    }
  }

  async function remove(item) {
    if (!window.confirm(`删除这个${kind.noun}？`)) return;
    try {
      await api('DELETE', `/api/admin/${kind.key}/${item.id}`);
      await load();
      mount(status, notice('info', '已删除'));
    } catch (e) {
      mount(status, notice('error', e.message));
    }
  }

  function edit(item) {
    const fields = {};
    const add = (key, id, label, input) => { fields[key] = field(id, label, input); return fields[key].row; };
    const parts = kind.form(item || {}, add).map((p) => {
      if (p && p.rows) { fields.image = p; return p.rows; }
      return p;
    });
    const st = h('div');
    const form = h('form', { class: 'stack card', id: `${kind.key}-form`, novalidate: true },
      h('h3', {}, item ? `编辑${kind.noun}` : `新增${kind.noun}`), parts, st,
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit' }, '保存'),
        h('button', { type: 'button', class: 'secondary', onclick: () => mount(editor) }, '取消')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = kind.body(fields);
      if (item) {
        body.sortOrder = item.sortOrder;
        body.status = item.status;
      }
      try {
        if (item) await api('PUT', `/api/admin/${kind.key}/${item.id}`, body);
        else await api('POST', `/api/admin/${kind.key}`, { ...body, sortOrder: items.length });
        clearErrors(fields);
        mount(editor);
        await load();
        mount(status, notice('info', '已保存'));
      } catch (err) {
        showError(err, fields, st);
      }
    });
    mount(editor, form);
    form.querySelector('input').focus();
  }

  function draw() {
    if (!items.length) {
      mount(list, h('p', { class: 'empty' }, `还没有${kind.noun}`));
      return;
    }
    mount(list, h('ol', { class: 'sortable' }, items.map((item, i) => {
      const [main, sub] = kind.summary(item);
      const row = h('li', {
        class: `sortable-item${item.status === 'disabled' ? ' disabled' : ''}`, draggable: owner ? 'true' : null,
        'data-id': item.id,
        ondragstart: (e) => { dragged = i; e.dataTransfer.effectAllowed = 'move'; },
        ondragover: (e) => { if (dragged !== null) e.preventDefault(); },
        ondrop: (e) => {
          e.preventDefault();
          if (dragged === null || dragged === i) return;
          const next = items.slice();
          const [x] = next.splice(dragged, 1);
          next.splice(i, 0, x);
          dragged = null;
          reorder(next);
        },
        ondragend: () => { dragged = null; },
      },
      h('span', { class: 'handle', 'aria-hidden': 'true' }, owner ? '⋮⋮' : ''),
      kind.image(item) ? h('img', { class: 'thumb', src: kind.image(item), alt: '' }) : h('span', { class: 'thumb' }),
      h('div', { class: 'grow' }, h('div', { class: 'item-title' }, main),
        h('div', { class: 'muted' }, sub, item.status === 'disabled' ? ' · 已停用' : '')),
      owner ? h('div', { class: 'item-actions' },
        h('button', { type: 'button', class: 'secondary', disabled: i === 0, 'aria-label': `上移 ${main}`, onclick: () => move(i, -1) }, '↑'),
        h('button', { type: 'button', class: 'secondary', disabled: i === items.length - 1, 'aria-label': `下移 ${main}`, onclick: () => move(i, 1) }, '↓'),
        h('button', { type: 'button', class: 'secondary', onclick: () => edit(item) }, '编辑'),
        h('button', { type: 'button', class: 'secondary', onclick: () => toggle(item) }, item.status === 'active' ? '停用' : '启用'),
        h('button', { type: 'button', class: 'secondary', onclick: () => remove(item) }, '删除')) : null);
      return row;
    })));
  }

  async function load() {
    list.setAttribute('aria-busy', 'true');
    try {
      items = await api('GET', `/api/admin/${kind.key}`);
      draw();
    } catch (e) {
      mount(list, notice('error', e.message));
    }
    list.removeAttribute('aria-busy');
  }

  mount(box,
    h('div', { class: 'title-row' }, h('h2', {}, kind.title),
      owner ? h('button', { type: 'button', class: 'secondary', id: `${kind.key}-add`, onclick: () => edit(null) }, `新增${kind.noun}`) : null),
    status, list, editor);
  return { box, load };
}

export async function contentPage(main, { admin }) {
  const sections = KINDS.map((k) => section(k, admin.role === 'owner'));
  mount(main, h('h1', {}, '首页内容'),
    h('p', { class: 'muted' }, '小程序首页的轮播图和周边商品；拖动或用箭头调整顺序，保存后立即生效。'),
    sections.map((s) => s.box));
  await Promise.all(sections.map((s) => s.load()));
}
