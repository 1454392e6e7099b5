// 检票, phone-first: pick tonight's show, then scan. The code field keeps
// the focus, so a handheld scanner (which types the code and Enter) just
// works; the camera is offered where the browser can read QR codes.
//
// With no network the page keeps deciding from the show's door pack (kept
// in IndexedDB, refreshed every minute while online): a code becomes its
// digest with our own HMAC, is looked up, and the scan is queued. The queue
// is uploaded when the network is back, and the server's verdicts (a ticket
// another door let in first, say) are shown.

import { api } from './api.js?v=__BUILD__';
import { dateTime, h, mount, notice, today } from './dom.js?v=__BUILD__';
import { doorDigest } from './hmac.js?v=__BUILD__';
import { allPacks, dequeue, enqueue, loadPack, queued, savePack } from './offline.js?v=__BUILD__';

const SHOW = 'st.doorShow';
const DEVICE = 'st.device';
const PACK_REFRESH_MS = 60_000;
const SYNC_RETRY_MS = 5_000;

function deviceId() {
  let id = localStorage.getItem(DEVICE);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(3));
    id = `网页-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem(DEVICE, id);
  }
  return id;
}

const time = (instant) => dateTime(instant).slice(11);

/** Tonight's shows from the API, or from the packs kept here when offline. */
async function tonight() {
  const day = today();
  try {
    const page = await api('GET', `/api/admin/events?from=${day}&to=${day}&pageSize=20`);
    return page.items.filter((e) => e.status !== 'cancelled' && e.status !== 'draft')
      .map((e) => ({ id: e.id, title: e.title, eventTime: e.eventTime }));
  } catch (e) {
    if (e.code !== 'NETWORK') throw e;
    const packs = await allPacks().catch(() => []);
    return packs.filter((p) => p.eventDate === day)
      .map((p) => ({ id: p.eventId, title: p.eventTitle, eventTime: p.eventTime }));
  }
}

export async function doorPage(main, { admin }) {
  mount(main, h('h1', {}, '检票'), h('p', { class: 'muted' }, '正在加载今晚的演出…'));
  let shows;
  try {
    shows = await tonight();
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
  const offlineBadge = h('p', { class: 'door-offline', id: 'door-offline', hidden: true, role: 'status' });
  const code = h('input', {
    id: 'door-code', class: 'door-code', autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', inputmode: 'text', placeholder: '扫码或输入票码后回车',
    'aria-label': '票码',
  });
  const result = h('div', { id: 'door-result', class: 'door-result', 'aria-live': 'assertive' });
  const syncReport = h('div', { id: 'door-sync', class: 'door-sync' });
  const undo = h('button', { type: 'button', class: 'secondary', id: 'door-undo', hidden: true }, '撤销上一次检票');
  const camera = h('div', { class: 'door-camera' });
  let last = null;
  let busy = false;
  let offline = false;
  // The pack of the chosen show, by digest; scans queued here by digest.
  let pack = null;
  let byDigest = new Map();
  let pending = [];

  function drawCount() {
    const mine = pending.filter((p) => p.eventId === show.id).length;
    if (pack && (offline || mine)) {
      count.textContent = `已入场 ${pack.checkedIn + mine} / 已售 ${pack.sold}`;
    }
    offlineBadge.hidden = !(offline || pending.length);
    offlineBadge.textContent = offline
      ? `离线 · ${pending.length} 条待同步`
      : `${pending.length} 条待同步，正在上传…`;
  }

  async function refreshCount() {
    if (offline) { drawCount(); return; }
    try {
      const c = await api('GET', `/api/admin/events/${encodeURIComponent(show.id)}/checkins`);
      count.textContent = `已入场 ${c.checkedIn} / 已售 ${c.sold}`;
    } catch (e) {
      if (e.code === 'NETWORK') goOffline(); else count.textContent = e.message;
    }
    drawCount();
  }

  function usePack(p) {
    pack = p;
    byDigest = new Map((p ? p.tickets : []).map((t) => [t.digest, t]));
  }

  async function refreshPack() {
    const id = show.id;
    try {
      const p = await api('GET', `/api/admin/events/${encodeURIComponent(id)}/door-pack`);
      offline = false;
      await savePack(p).catch(() => {});
      if (id === show.id) usePack(p);
    } catch (e) {
      if (e.code === 'NETWORK') goOffline();
      if (!pack || pack.eventId !== id) usePack(await loadPack(id).catch(() => null));
    }
  }

  function goOffline() {
    offline = true;
    drawCount();
  }

  function showResult(ok, title, lines, extra) {
    mount(result, h('div', { class: ok ? 'door-ok' : 'door-bad', role: 'status' },
      h('div', { class: 'door-title' }, title),
      lines.filter(Boolean).map((l) => h('div', {}, l)),
      extra));
  }

  /** Decides from the pack, and queues the scan. */
  async function scanOffline(qrCode) {
    if (!pack || pack.eventId !== show.id) {
      showResult(false, '离线且没有本场的检票数据', ['请连上网络后再检票']);
      return;
    }
    const digest = doorDigest(pack.digest.key, qrCode, pack.digest.length);
    const t = byDigest.get(digest);
    if (!t) {
      showResult(false, '无效票码', ['不是本场演出的有效票（离线判断）']);
      return;
    }
    const mine = pending.find((p) => p.digest === digest && p.eventId === show.id);
    if (t.usedAt || mine) {
      const at = t.usedAt || mine.scannedAt;
      showResult(false, `已检票 ${time(at)}${t.usedBy ? ` ${t.usedBy}` : (mine ? ' 本机' : '')}`, [t.contactName]);
      return;
    }
    const scan = { eventId: show.id, qrCode, digest, scannedAt: new Date().toISOString() };
    scan.id = await enqueue(scan);
    pending.push(scan);
    last = { offline: true, scan };
    undo.hidden = false;
    showResult(true, '检票成功（离线）', [t.contactName, t.priceOptionName, '联网后自动同步']);
    drawCount();
  }

  async function scan(text, force = false) {
    const qrCode = text.trim();
    if (!qrCode || busy) return;
    busy = true;
    try {
      if (offline || pending.some((p) => p.eventId === show.id)) {
        await scanOffline(qrCode);
        return;
      }
      const t = await api('POST', '/api/admin/checkin', {
        qrCode, eventId: show.id, deviceId: deviceId(), force,
      });
      last = { ticketId: t.ticketId };
      undo.hidden = false;
      showResult(true, t.forced ? '已强制放行' : '检票成功', [
        `${t.contactName} · ${t.contactPhone}`,
        t.priceOptionName,
        `本单已入场 ${t.orderCheckedIn} / ${t.orderTickets}`,
      ]);
    } catch (e) {
      if (e.code === 'NETWORK') {
        goOffline();
        await scanOffline(qrCode);
        return;
      }
      const canForce = admin.role === 'owner' && ['WRONG_SHOW', 'TICKET_EXPIRED'].includes(e.code);
      showResult(false, e.message, [], canForce
        ? h('button', { type: 'button', onclick: () => scan(qrCode, true) }, '强制放行（店主）')
        : null);
    } finally {
      busy = false;
      code.value = '';
      code.focus();
      if (!offline) refreshCount();
    }
  }

  let syncing = false;
  async function sync() {
    if (syncing || !pending.length) return;
    syncing = true;
    try {
      for (const eventId of [...new Set(pending.map((p) => p.eventId))]) {
        const batch = pending.filter((p) => p.eventId === eventId);
        const report = await api('POST', '/api/admin/checkin/sync', {
          deviceId: deviceId(), eventId,
          scans: batch.map((p) => ({ qrCode: p.qrCode, scannedAt: p.scannedAt })),
        });
        await dequeue(batch.map((p) => p.id));
        pending = pending.filter((p) => !batch.includes(p));
        if (last && last.offline && batch.includes(last.scan)) { last = null; undo.hidden = true; }
        showReport(report);
      }
      offline = false;
      await refreshPack();
    } catch (e) {
      if (e.code === 'NETWORK') goOffline(); else mount(syncReport, notice('error', e.message));
    } finally {
      syncing = false;
      refreshCount();
    }
  }

  function showReport(r) {
    const problems = r.results.filter((x) => x.result !== 'accepted');
    mount(syncReport, h('div', { class: 'card', role: 'status' },
      h('div', { class: 'title' }, `已同步：${r.accepted} 张入场`,
        r.duplicates ? ` · ${r.duplicates} 张重复` : '', r.rejected ? ` · ${r.rejected} 张被拒` : ''),
      problems.length || r.superseded.length ? h('ul', {},
        problems.map((x) => h('li', {}, x.result === 'duplicate'
          ? `重复：${x.contactName || ''} 已于 ${time(x.winner && x.winner.scannedAt)} 在 ${(x.winner && (x.winner.usedBy || x.winner.deviceId)) || '其他设备'} 入场`
          : `被拒：${x.contactName || ''} ${x.message || x.error}`)),
        r.superseded.map((x) => h('li', {}, `先到为准：${x.contactName} 已于 ${time(x.winner.scannedAt)} 在 ${x.winner.usedBy || x.winner.deviceId || '其他设备'} 入场`)))
        : null));
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
  picker.addEventListener('change', async () => {
    show = shows.find((s) => s.id === picker.value) || show;
    sessionStorage.setItem(SHOW, show.id);
    mount(result);
    usePack(null);
    await refreshPack();
    refreshCount();
    code.focus();
  });
  undo.addEventListener('click', async () => {
    if (!last) return;
    if (last.offline) {
      await dequeue([last.scan.id]).catch(() => {});
      pending = pending.filter((p) => p !== last.scan);
      showResult(true, '已撤销', ['该票可重新检票']);
    } else {
      try {
        await api('POST', '/api/admin/checkin/undo', { ticketId: last.ticketId });
        showResult(true, '已撤销', ['该票可重新检票']);
      } catch (e) {
        showResult(false, e.message, []);
      }
    }
    last = null;
    undo.hidden = true;
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
    offlineBadge, count, code, result, h('div', { class: 'door-actions' }, undo), syncReport, camera);
  code.focus();
  pending = await queued().catch(() => []);
  await refreshPack();
  refreshCount();

  // Back online: upload the queue; while offline, keep trying quietly.
  const onOnline = () => { sync(); };
  window.addEventListener('online', onOnline);
  const timers = [
    setInterval(() => {
      if (pending.length) sync();
      else if (offline) refreshPack().then(refreshCount);
    }, SYNC_RETRY_MS),
    setInterval(() => { if (!offline && !pending.length) refreshPack(); }, PACK_REFRESH_MS),
  ];
  const stop = new MutationObserver(() => {
    if (!code.isConnected) {
      window.removeEventListener('online', onOnline);
      timers.forEach(clearInterval);
      stop.disconnect();
    }
  });
  stop.observe(document.body, { childList: true, subtree: true });
}
