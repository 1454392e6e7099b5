// 检票, phone-first: pick tonight's show, then scan. The code field keeps
// the focus, so a handheld scanner (which types the code and Enter) just
// works; the camera is offered where the browser can read QR codes.

import { api } from './api.js?v=__BUILD__';
import { h, mount, notice } from './dom.js?v=__BUILD__';

const SHOW = 'st.doorShow';
const DEVICE = 'st.device';

function deviceId() {
  let id = localStorage.getItem(DEVICE);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(3));
    id = `网页-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(DEVICE, id);
  }
  return id;
}

function today(zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
}

export async function doorPage(main, { admin, settings }) {
  mount(main, h('h1', {}, '检票'), h('p', { class: 'muted' }, '正在加载今晚的演出…'));
  const day = today(settings.timezone || 'Asia/Shanghai');
  let shows;
  try {
    const page = await api('GET', `/api/admin/events?from=${day}&to=${day}&pageSize=20`);
    shows = page.items.filter((e) => e.status !== 'cancelled' && e.status !== 'draft');
  } catch (e) {
    mount(main, h('h1', {}, '检票'), notice('error', e.message));
    return;
  }
  if (!shows.length) {
    mount(main, h('h1', {}, '检票'), h('p', { class: 'empty' }, '今天没有演出'));
    return;
  }
  const remembered = sessionStorage.getItem(SHOW);
  let show = shows.find((s) => s.id === remembered) || shows[0];

  const picker = h('select', { id: 'door-show', 'aria-label': '演出' },
    shows.map((s) => h('option', { value: s.id, selected: s.id === show.id }, `${s.eventTime} ${s.title}`)));
  const count = h('p', { class: 'door-count', id: 'door-count', 'aria-live': 'polite' });
  const code = h('input', {
    id: 'door-code', class: 'door-code', autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', inputmode: 'text', placeholder: '扫码或输入票码后回车',
    'aria-label': '票码',
  });
  const result = h('div', { id: 'door-result', class: 'door-result', 'aria-live': 'assertive' });
  const undo = h('button', { type: 'button', class: 'secondary', id: 'door-undo', hidden: true }, '撤销上一次检票');
  const camera = h('div', { class: 'door-camera' });
  let last = null;
  let busy = false;

  async function refreshCount() {
    try {
      const c = await api('GET', `/api/admin/events/${encodeURIComponent(show.id)}/checkins`);
      count.textContent = `已入场 ${c.checkedIn} / 已售 ${c.sold}`;
    } catch (e) {
      count.textContent = e.message;
    }
  }

  function showResult(ok, title, lines, extra) {
    mount(result, h('div', { class: ok ? 'door-ok' : 'door-bad', role: 'status' },
      h('div', { class: 'door-title' }, title),
      lines.filter(Boolean).map((l) => h('div', {}, l)),
      extra));
  }

  async function scan(text, force = false) {
    const qrCode = text.trim();
    if (!qrCode || busy) return;
    busy = true;
    try {
      const t = await api('POST', '/api/admin/checkin', {
        qrCode, eventId: show.id, deviceId: deviceId(), force,
      });
      last = t.ticketId;
      undo.hidden = false;
      showResult(true, t.forced ? '已强制放行' : '检票成功', [
        `${t.contactName} · ${t.contactPhone}`,
        t.priceOptionName,
        `本单已入场 ${t.orderCheckedIn} / ${t.orderTickets}`,
      ]);
    } catch (e) {
      const canForce = admin.role === 'owner' && ['WRONG_SHOW', 'TICKET_EXPIRED'].includes(e.code);
      showResult(false, e.message, [], canForce
        ? h('button', { type: 'button', onclick: () => scan(qrCode, true) }, '强制放行（店主）')
        : null);
    } finally {
      busy = false;
      code.value = '';
      code.focus();
      refreshCount();
    }
  }

  code.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      scan(code.value);
    }
  });
  // Keep the field ready for the next code, unless another control is used.
  code.addEventListener('blur', () => {
    setTimeout(() => {
      const a = document.activeElement;
      if (!a || a === document.body) code.focus();
    }, 0);
  });
  picker.addEventListener('change', () => {
    show = shows.find((s) => s.id === picker.value) || show;
    sessionStorage.setItem(SHOW, show.id);
    mount(result);
    refreshCount();
    code.focus();
  });
  undo.addEventListener('click', async () => {
    if (!last) return;
    try {
      await api('POST', '/api/admin/checkin/undo', { ticketId: last });
      showResult(true, '已撤销', ['该票可重新检票']);
      last = null;
      undo.hidden = true;
    } catch (e) {
      showResult(false, e.message, []);
    }
    refreshCount();
    code.focus();
  });

  if ('BarcodeDetector' in window && navigator.mediaDevices) {
    const start = h('button', { type: 'button', class: 'secondary' }, '用摄像头扫码');
    start.addEventListener('click', async () => {
      try {
        const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        const video = h('video', { playsinline: true, muted: true, class: 'door-video' });
        video.srcObject = stream;
        mount(camera, video);
        await video.play();
        let seen = '';
        const tick = async () => {
          if (!video.isConnected) {
            stream.getTracks().forEach((t) => t.stop());
            return;
          }
          const codes = await detector.detect(video).catch(() => []);
          const value = codes[0] && codes[0].rawValue;
          if (value && value !== seen) {
            seen = value;
            await scan(value);
            setTimeout(() => { seen = ''; }, 2000);
          }
          requestAnimationFrame(tick);
        };
        tick();
      } catch {
        mount(camera, notice('error', '无法打开摄像头，请用扫码枪或手动输入'));
      }
    });
    mount(camera, start);
  }

  mount(main,
    h('h1', {}, '检票'),
    h('label', { for: 'door-show' }, '演出', picker),
    count, code, result, h('div', { class: 'door-actions' }, undo), camera);
  code.focus();
  refreshCount();
}
