// The console's shell: who is signed in, the navigation, and a small
// router over /admin/<page> (the server answers index.html for each).

import { api, session, whenSignedOut } from './api.js?v=__BUILD__';
import { h, mount, notice, setZone } from './dom.js?v=__BUILD__';
import { loginPage } from './login.js?v=__BUILD__';
import { overviewPage } from './overview.js?v=__BUILD__';
import { doorPage } from './door.js?v=__BUILD__';
import { teamPage } from './team.js?v=__BUILD__';
import { auditPage } from './audit.js?v=__BUILD__';
import { settingsPage } from './settings.js?v=__BUILD__';
import { eventsPage } from './events.js?v=__BUILD__';
import { ordersPage } from './orders.js?v=__BUILD__';
import { contentPage } from './content.js?v=__BUILD__';

const root = document.getElementById('app');

/** Pages by path below /admin/, with who may open them. */
const PAGES = [
  { path: '', title: '概览', render: overviewPage, owner: true },
  { path: 'events', title: '演出', render: eventsPage, owner: false },
  { path: 'orders', title: '订单', render: ordersPage, owner: false },
  { path: 'door', title: '检票', render: doorPage, owner: false },
  { path: 'content', title: '首页内容', render: contentPage, owner: true },
  { path: 'team', title: '员工', render: teamPage, owner: true },
  { path: 'settings', title: '设置', render: settingsPage, owner: true },
  { path: 'audit', title: '操作日志', render: auditPage, owner: true },
];

let flash = null;

export function navigate(path, replace = false) {
  const url = `/admin/${path}`;
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}

function currentPath() {
  return location.pathname.replace(/^\/admin\/?/, '').replace(/\/$/, '');
}

function shell(club, admin, page) {
  const nav = h('nav', { 'aria-label': '主导航' },
    PAGES.filter((p) => !p.owner || admin.role === 'owner').map((p) => h('a', {
      href: `/admin/${p.path}`,
      'aria-current': p === page ? 'page' : null,
      onclick: (e) => { e.preventDefault(); navigate(p.path); },
    }, p.title)));
  const out = h('button', {
    class: 'secondary', type: 'button',
    onclick: () => { session.clear(); flash = { kind: 'info', text: '已退出登录' }; navigate('login'); },
  }, '退出');
  const main = h('main', { class: 'page', id: 'main' });
  mount(root,
    h('header', { class: 'bar' },
      h('span', { class: 'club' }, club),
      nav,
      h('span', { class: 'muted' }, admin.displayName || admin.username),
      out),
    main);
  return main;
}

let settings = null;
const SETTINGS = 'st.settings';

async function render() {
  const path = currentPath();
  if (path === 'login' || !session.token) {
    if (path !== 'login') history.replaceState(null, '', '/admin/login');
    const message = flash;
    flash = null;
    loginPage(root, message, () => { settings = null; navigate('', true); });
    return;
  }
  const admin = session.admin || {};
  if (!settings) {
    try {
      settings = await api('GET', '/api/admin/tenant');
      localStorage.setItem(SETTINGS, JSON.stringify(settings));
    } catch (e) {
      if (!session.token) return;
      // Offline at the door: the club as last seen on this device.
      const kept = e.code === 'NETWORK' && JSON.parse(localStorage.getItem(SETTINGS) || 'null');
      if (!kept) {
        mount(root, h('main', { class: 'page' }, notice('error', e.message)));
        return;
      }
      settings = kept;
    }
    setZone(settings.timezone);
  }
  // Door staff start at the door.
  if (path === '' && admin.role !== 'owner') {
    navigate('door', true);
    return;
  }
  // "events/01J…" opens 演出 with "01J…" as its subpath.
  const [top, ...rest] = path.split('/');
  const sub = rest.join('/');
  const page = PAGES.find((p) => p.path === top && (!p.owner || admin.role === 'owner'));
  if (!page) {
    const main = shell(settings.name, admin, null);
    mount(main, h('h1', {}, '页面不存在'), h('p', {},
      h('a', { href: '/admin/', onclick: (e) => { e.preventDefault(); navigate(''); } }, '回到概览')));
    return;
  }
  document.title = `${page.title} · ${settings.name}`;
  const main = shell(settings.name, admin, page);
  await page.render(main, { admin, settings, sub, navigate });
}

whenSignedOut((message) => {
  settings = null;
  flash = { kind: 'error', text: message || '登录已过期，请重新登录' };
  navigate('login', true);
});

// A save on 设置 renames the club in the bar at once.
window.addEventListener('club-saved', (e) => {
  settings = e.detail;
  localStorage.setItem(SETTINGS, JSON.stringify(settings));
  const club = document.querySelector('.bar .club');
  if (club) club.textContent = settings.name;
});

window.addEventListener('console-navigate', (e) => navigate(e.detail));
window.addEventListener('popstate', render);
render();

// Keeps the console's files for the door with no network (secure origins
// only: https, or this machine).
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker.register('/admin/sw.js', { scope: '/admin/' }).catch(() => {});
}
