// 设置: the club's name, logo (uploaded here), theme colours with a live
// preview of the mini-program's palette, contact, features and the buyers'
// refund cut-off. Saved whole; the mini-program sees it at once.

import { api } from './api.js?v=__BUILD__';
import { h, mount, notice } from './dom.js?v=__BUILD__';
import { clearErrors, field, imageField, showError } from './forms.js?v=__BUILD__';

const COLOURS = [
  ['primary', '主色'], ['accent', '强调色'], ['bg', '背景'], ['text', '文字'], ['muted', '次要文字'],
];
const FEATURES = [
  ['enableCalendar', '演出日历'], ['enableMembership', '会员'], ['enableCoupon', '优惠券'],
];

/** WCAG relative luminance of `#rrggbb` (0 for anything else). */
function luminance(hex) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex || '');
  if (!m) return 0;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16) / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const contrast = (a, b) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};

/** The theme's text colour on `bg` if it reads (4.5:1), else white or black. */
function readableOn(bg, text) {
  if (contrast(bg, text) >= 4.5) return text;
  return contrast(bg, '#ffffff') >= contrast(bg, '#000000') ? '#ffffff' : '#000000';
}

export async function settingsPage(main) {
  let s;
  try {
    s = await api('GET', '/api/admin/tenant');
  } catch (e) {
    mount(main, h('h1', {}, '设置'), notice('error', e.message));
    return;
  }
  const fields = {};
  const add = (key, id, label, input) => { fields[key] = field(id, label, input); return fields[key].row; };
  const status = h('div', { id: 'settings-status' });

  const name = add('name', 'set-name', '俱乐部名称', h('input', { value: s.name }));
  fields.logo = imageField('set-logo', 'Logo', s.logo);
  const logoInput = fields.logo.input;

  const preview = h('div', { class: 'palette', 'aria-label': '小程序配色预览' },
    h('div', { class: 'palette-title' }, '今晚 20:00 · 脱口秀专场'),
    h('div', { class: 'palette-muted' }, '上海 · 笑果小剧场'),
    h('div', { class: 'palette-price' }, '¥88.00'),
    h('span', { class: 'palette-button' }, '立即购票'));
  const colours = COLOURS.map(([key, label]) => {
    const text = h('input', { value: s.theme[key], maxlength: 7, class: 'colour-text' });
    const pick = h('input', { type: 'color', value: s.theme[key], 'aria-label': `${label}取色` });
    pick.addEventListener('input', () => { text.value = pick.value; paint(); });
    text.addEventListener('input', () => { if (/^#[0-9a-fA-F]{6}$/.test(text.value)) pick.value = text.value; paint(); });
    return { key, row: add(`theme.${key}`, `set-theme-${key}`, label, text), text, pick };
  });
  function paint() {
    const c = Object.fromEntries(colours.map((x) => [x.key, x.text.value]));
    Object.assign(preview.style, { background: c.bg, color: c.text, borderColor: c.accent });
    preview.querySelector('.palette-muted').style.color = c.muted;
    preview.querySelector('.palette-price').style.color = c.accent;
    Object.assign(preview.querySelector('.palette-button').style, { background: c.primary, color: readableOn(c.primary, c.text) });
  }

  const contact = s.contact || {};
  const phone = add('contact.phone', 'set-phone', '联系电话', h('input', { value: contact.phone || '', inputmode: 'tel' }));
  const address = add('contact.address', 'set-address', '地址', h('input', { value: contact.address || '' }));
  const email = add('contact.email', 'set-email', '邮箱', h('input', { value: contact.email || '', type: 'email' }));
  const features = FEATURES.map(([key, label]) => {
    const box = h('input', { type: 'checkbox', id: `set-${key}`, checked: !!s.features[key] });
    return { key, box, row: h('label', { class: 'check', for: `set-${key}` }, box, label) };
  });
  const useDefault = h('input', { type: 'checkbox', id: 'set-cutoff-default', checked: s.refundCutoffIsDefault });
  const cutoffInput = h('input', { type: 'number', min: 0, max: 43200, step: 1, value: s.refundCutoffMinutes, disabled: s.refundCutoffIsDefault });
  useDefault.addEventListener('change', () => { cutoffInput.disabled = useDefault.checked; });
  const cutoff = add('refundCutoffMinutes', 'set-cutoff', '观众可退款至演出开始前（分钟）', cutoffInput);

  const form = h('form', { class: 'stack card settings', id: 'settings-form', novalidate: true },
    name, fields.logo.rows,
    h('h2', {}, '主题色'), h('div', { class: 'colours' }, colours.map((c) => h('div', { class: 'colour' }, c.row, c.pick))),
    preview,
    h('h2', {}, '联系方式'), phone, address, email,
    h('h2', {}, '功能'), features.map((f) => f.row),
    h('h2', {}, '退款'), h('label', { class: 'check', for: 'set-cutoff-default' }, useDefault, '使用服务器默认设置'), cutoff,
    status, h('button', { type: 'submit' }, '保存'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(status);
    const minutes = Number(cutoffInput.value);
    const body = {
      name: fields.name.input.value,
      logo: logoInput.value.trim() || null,
      theme: Object.fromEntries(colours.map((c) => [c.key, c.text.value.trim()])),
      contact: {
        phone: fields['contact.phone'].input.value.trim() || null,
        address: fields['contact.address'].input.value.trim() || null,
        email: fields['contact.email'].input.value.trim() || null,
      },
      features: Object.fromEntries(features.map((f) => [f.key, f.box.checked])),
      refundCutoffMinutes: useDefault.checked || cutoffInput.value === '' ? null : minutes,
    };
    try {
      const saved = await api('PUT', '/api/admin/tenant', body);
      window.dispatchEvent(new CustomEvent('club-saved', { detail: saved }));
      clearErrors(fields);
      mount(status, notice('info', '已保存，小程序会立即显示新的设置'));
    } catch (err) {
      showError(err, fields, status);
    }
  });
  mount(main, h('h1', {}, '设置'), form);
  paint();
}
