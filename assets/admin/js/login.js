// 登录: club id, username, password. The token lives in sessionStorage, so
// closing the tab signs out.

import { api, session } from './api.js?v=__BUILD__';
import { h, mount, notice } from './dom.js?v=__BUILD__';

const LAST_CLUB = 'st.lastClub';

function field(label, input) {
  const error = h('span', { class: 'field-error', id: `${input.id}-error` });
  input.setAttribute('aria-describedby', error.id);
  return { row: h('label', { for: input.id }, label, input, error), input, error };
}

export function loginPage(root, message, done) {
  const club = field('俱乐部 ID', h('input', {
    id: 'login-club', name: 'tenantId', autocomplete: 'organization', required: true,
    autocapitalize: 'none', spellcheck: 'false',
  }));
  club.input.value = localStorage.getItem(LAST_CLUB) || '';
  const user = field('用户名', h('input', {
    id: 'login-user', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false',
  }));
  const pass = field('密码', h('input', {
    id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true,
  }));
  const status = h('div', { id: 'login-status' }, message ? notice(message.kind, message.text) : null);
  const submit = h('button', { type: 'submit', id: 'login-submit' }, '登录');
  const form = h('form', { class: 'stack', novalidate: true }, club.row, user.row, pass.row, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of [club, user, pass]) {
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
    }
    const empty = [club, user, pass].find((f) => !f.input.value.trim());
    if (empty) {
      empty.error.textContent = '请填写此项';
      empty.input.setAttribute('aria-invalid', 'true');
      empty.input.focus();
      return;
    }
    submit.disabled = true;
    mount(status);
    try {
      const data = await api('POST', '/api/admin/auth/login', {
        tenantId: club.input.value.trim(),
        username: user.input.value.trim(),
        password: pass.input.value,
      });
      localStorage.setItem(LAST_CLUB, club.input.value.trim());
      session.save(data.token, data.admin);
      done();
    } catch (err) {
      mount(status, notice('error', err.message));
      pass.input.select();
    } finally {
      submit.disabled = false;
    }
  });
  mount(root, h('main', { class: 'login' },
    h('h1', {}, '俱乐部管理后台'),
    h('div', { class: 'card' }, form)));
  (club.input.value ? user.input : club.input).focus();
}
