// 员工 (owners only): the club's admins, adding one, changing a role or
// status, resetting a password. Errors appear next to the field named.

import { api } from './api.js?v=__BUILD__';
import { dateTime, h, mount, notice } from './dom.js?v=__BUILD__';
import { clearErrors, field, showError } from './forms.js?v=__BUILD__';

const ROLES = { owner: '店主', staff: '员工' };

export async function teamPage(main, { admin }) {
  const list = h('div', { class: 'skeleton', 'aria-busy': 'true' });
  const status = h('div', { id: 'team-status' });
  const fields = {
    username: field('team-username', '用户名', h('input', { autocomplete: 'off', autocapitalize: 'none' })),
    displayName: field('team-display', '显示名', h('input', { autocomplete: 'off' })),
    role: field('team-role', '角色', h('select', {},
      h('option', { value: 'staff' }, '员工（检票、查订单）'), h('option', { value: 'owner' }, '店主（全部权限）'))),
    password: field('team-password', '初始密码（至少 10 个字符）', h('input', { type: 'password', autocomplete: 'new-password' })),
  };
  const form = h('form', { class: 'stack card', id: 'team-form' },
    h('h2', {}, '新增员工'), Object.values(fields).map((f) => f.row), status,
    h('button', { type: 'submit' }, '新增'));

  async function act(fn) {
    mount(status);
    try { await fn(); await load(); } catch (e) { mount(status, notice('error', e.message)); }
  }

  /** A dialog with a password field (never shown in clear unless asked),
   *  and a generated password offered to read out once. */
  function resetDialog(a) {
    const input = h('input', { type: 'password', id: 'reset-password', autocomplete: 'new-password' });
    const error = h('div', { class: 'field-error', id: 'reset-password-error', 'aria-live': 'polite' });
    const reveal = h('input', { type: 'checkbox', id: 'reset-reveal' });
    reveal.addEventListener('change', () => { input.type = reveal.checked ? 'text' : 'password'; });
    const dialog = h('dialog', { class: 'card', 'aria-labelledby': 'reset-title' });
    const close = () => { dialog.close(); dialog.remove(); };
    const generate = h('button', { type: 'button', class: 'secondary', onclick: () => {
      const bytes = crypto.getRandomValues(new Uint8Array(9));
      const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
      input.value = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('').replace(/(.{3})(?!$)/g, '$1-');
      input.type = 'text';
      reveal.checked = true;
    } }, '生成一个');
    const form = h('form', { class: 'stack', method: 'dialog' },
      h('h2', { id: 'reset-title' }, `为 ${a.username} 重设密码`),
      h('label', { for: 'reset-password' }, '新密码（至少 10 个字符）'), input, error,
      h('label', { class: 'inline' }, reveal, ' 显示密码'),
      h('p', { class: 'muted' }, '重设后，此人在所有设备上的登录立即失效。'),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', id: 'reset-submit' }, '确定'), ' ', generate, ' ',
        h('button', { type: 'button', class: 'secondary', onclick: close }, '取消')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api('POST', `/api/admin/admins/${a.id}/password`, { password: input.value });
        close();
        mount(status, notice('info', `已为 ${a.username} 重设密码`));
        await load();
      } catch (err) {
        error.textContent = err.field ? err.message.slice(err.field.length + 1) : err.message;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    });
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  }

  async function load() {
    try {
      const admins = await api('GET', '/api/admin/admins');
      mount(list, h('div', { class: 'table-wrap', tabindex: 0 }, h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, '用户名'), h('th', {}, '显示名'), h('th', {}, '角色'),
          h('th', {}, '状态'), h('th', {}, '最近登录'), h('th', {}, '操作'))),
        h('tbody', {}, admins.map((a) => h('tr', {},
          h('td', {}, a.username),
          h('td', {}, a.displayName || ''),
          h('td', {}, ROLES[a.role] || a.role),
          h('td', {}, a.status === 'active' ? (a.lockedUntil ? `启用（某网络输错密码，锁定至 ${dateTime(a.lockedUntil)}）` : '启用') : '停用'),
          h('td', {}, dateTime(a.lastLoginAt)),
          h('td', {},
            h('button', { type: 'button', class: 'secondary',
              onclick: () => act(() => api('PUT', `/api/admin/admins/${a.id}`, { role: a.role === 'owner' ? 'staff' : 'owner' })) },
            a.role === 'owner' ? '改为员工' : '设为店主'), ' ',
            a.id === admin.id ? null : h('button', { type: 'button', class: 'secondary',
              onclick: () => act(() => api('PUT', `/api/admin/admins/${a.id}`, { status: a.status === 'active' ? 'disabled' : 'active' })) },
            a.status === 'active' ? '停用' : '启用'), ' ',
            h('button', { type: 'button', class: 'secondary', onclick: () => resetDialog(a) }, '重设密码'), ' ',
            a.id === admin.id ? null : h('button', { type: 'button', class: 'secondary',
              onclick: () => {
                if (window.confirm(`让 ${a.username} 在所有设备上退出登录？`)) {
                  act(() => api('POST', `/api/admin/admins/${a.id}/logout-all`));
                }
              } }, '退出所有设备'))))))));
    } catch (e) {
      mount(list, notice('error', e.message));
    }
    list.removeAttribute('aria-busy');
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    mount(status);
    try {
      await api('POST', '/api/admin/admins', {
        username: fields.username.input.value.trim(),
        displayName: fields.displayName.input.value.trim() || undefined,
        role: fields.role.input.value,
        password: fields.password.input.value,
      });
      form.reset();
      clearErrors(fields);
      mount(status, notice('info', '已新增'));
      await load();
    } catch (err) {
      showError(err, fields, status);
    }
  });
  mount(main, h('h1', {}, '员工'), list, form);
  await load();
}
