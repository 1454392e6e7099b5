// 检票, phone-first: pick tonight's show, then scan. The code field keeps
// the focus, so a handheld scanner (which types the code and Enter) just
// works; the camera is offered where the browser can read QR codes.
//
// The page keeps the show's door pack (in IndexedDB) up to date while
// online: its own scans go into it as soon as the server answers, and every
// two seconds it asks what changed at the other doors since its cursor (an
// idle door gets an empty 304). With no network it keeps deciding from the
// pack: a code becomes its digest with our own HMAC, is looked up, and the
// scan is queued. The queue is uploaded when the network is back, and the
// server's verdicts (a ticket another door let in first, say) are shown.

import { api } from './api.js?v=__BUILD__';
import { dateTime, h, mount, notice, today } from './dom.js?v=__BUILD__';
import { doorDigest } from './hmac.js?v=__BUILD__';
import { allPacks, dequeue, enqueue, loadPack, queued, savePack } from './offline.js?v=__BUILD__';

const SHOW = 'st.doorShow';
const DEVICE = 'st.device';
// Other doors' entries reach this one within a poll and a round trip.
const CHANGES_POLL_MS = 2_000;
// The whole pack again (conditional: 304 while nothing changed), for what
// the changes do not carry: tickets sold since.
const PACK_REFRESH_MS = 5 * 60_000;
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

  /** Sold and in, from the pack and this device's queue: the same count
   *  online and offline, so going offline never moves it back. */
  function drawCount() {
    if (pack && pack.eventId === show.id) {
      let sold = 0;
      let inside = 0;
      for (const t of byDigest.values()) {
        if (t.void) continue;
        sold += 1;
        if (t.usedAt) inside += 1;
      }
      for (const p of pending) {
        const t = p.eventId === show.id && byDigest.get(p.digest);
        if (t && !t.usedAt && !t.void) inside += 1;
      }
      count.textContent = `已入场 ${inside} / 已售 ${sold}`;
    }
    offlineBadge.hidden = !(offline || pending.length);
    offlineBadge.textContent = offline
      ? `离线 · ${pending.length} 条待同步`
      : `${pending.length} 条待同步，正在上传…`;
  }

  function usePack(p) {
    pack = p;
    byDigest = new Map((p ? p.tickets : []).map((t) => [t.digest, t]));
    drawCount();
  }

  let saving = null;
  /** Keeps the pack as it stands now on the device (for a reload offline). */
  function keepPack() {
    if (!pack || saving) return;
    saving = setTimeout(() => {
      saving = null;
      if (pack) savePack({ ...pack, tickets: [...byDigest.values()] }).catch(() => {});
    }, 200);
  }

  async function refreshPack() {
    const id = show.id;
    try {
      const same = pack && pack.eventId === id && pack.packVersion;
      const p = await api('GET', `/api/admin/events/${encodeURIComponent(id)}/door-pack`, undefined,
        same ? { 'If-None-Match': `W/"${pack.packVersion}"` } : {});
      offline = false;
      if (p) {
        await savePack(p).catch(() => {});
        if (id === show.id) usePack(p);
      }
    } catch (e) {
      if (e.code === 'NETWORK') goOffline();
      if (!pack || pack.eventId !== id) usePack(await loadPack(id).catch(() => null));
    }
    drawCount();
  }

  /** One ticket's state as the server has it now. */
  function applyTicket(change) {
    const t = byDigest.get(change.digest);
    if (t) {
      t.usedAt = change.usedAt;
      t.usedBy = change.usedBy;
      t.deviceId = change.deviceId;
      t.void = !!change.void;
    } else {
      byDigest.set(change.digest, { ...change });
    }
  }

  let polling = false;
  /** What changed at the other doors since the pack's cursor. */
  async function poll() {
    if (polling || offline || !pack || pack.eventId !== show.id) return;
    polling = true;
    const id = show.id;
    try {
      for (;;) {
        const c = await api('GET',
          `/api/admin/events/${encodeURIComponent(id)}/door-changes?since=${pack.cursor || 0}`);
        if (!c || id !== show.id || !pack) break;
        c.changes.forEach(applyTicket);
        pack.cursor = c.cursor;
        keepPack();
        drawCount();
        if (!c.more) break;
      }
    } catch (e) {
      if (e.code === 'NETWORK') goOffline();
    } finally {
      polling = false;
    }
  }

  /** The server answered a scan of `qrCode`: the pack learns it at once. */
  function learn(qrCode, change) {
    if (!pack || pack.eventId !== show.id) return;
    const digest = doorDigest(pack.digest.key, qrCode, pack.digest.length);
    const t = byDigest.get(digest);
    if (t) Object.assign(t, change);
    keepPack();
    drawCount();
  }

  /** `why`: the browser's `offline` event, or a request that failed. */
  function goOffline(why = 'request') {
    if (!offline) offlineBadge.dataset.since = why;
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
    if (t.void) {
      showResult(false, '票已作废', [t.contactName, '订单已退款或已取消（离线判断）']);
      return;
    }
    if (t.usedAt || mine) {
      const at = t.usedAt || mine.scannedAt;
      const who = t.usedAt ? (t.usedBy || t.deviceId || '其他设备') : '本机';
      showResult(false, `已检票 ${time(at)} ${who}`, [t.contactName]);
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
      learn(qrCode, { usedAt: t.usedAt, usedBy: admin.username, deviceId: deviceId(), void: false });
      last = { ticketId: t.ticketId, qrCode };
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
      if (e.code === 'TICKET_ALREADY_USED') {
        const t = pack && byDigest.get(doorDigest(pack.digest.key, qrCode, pack.digest.length));
        if (t && !t.usedAt) learn(qrCode, { usedAt: new Date().toISOString() });
      } else if (e.code === 'TICKET_VOID') {
        learn(qrCode, { void: true });
      }
      const canForce = admin.role === 'owner' && ['WRONG_SHOW', 'TICKET_EXPIRED'].includes(e.code);
      showResult(false, e.message, [], canForce
        ? h('button', { type: 'button', onclick: () => scan(qrCode, true) }, '强制放行（店主）')
        : null);
    } finally {
      busy = false;
      code.value = '';
      code.focus();
      poll();
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
      await poll();
    } catch (e) {
      if (e.code === 'NETWORK') goOffline(); else mount(syncReport, notice('error', e.message));
    } finally {
      syncing = false;
      drawCount();
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
    poll();
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
        learn(last.qrCode, { usedAt: undefined, usedBy: undefined, deviceId: undefined });
        showResult(true, '已撤销', ['该票可重新检票']);
      } catch (e) {
        showResult(false, e.message, []);
      }
    }
    last = null;
    undo.hidden = true;
    drawCount();
    poll();
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
  if (!navigator.onLine) goOffline('event');
  await refreshPack();
  poll();

  // The browser says the network went: the badge shows at once, and scans
  // are decided here. Back online: upload the queue, then catch up.
  const onOffline = () => { goOffline('event'); };
  const onOnline = () => {
    if (pending.length) sync();
    else { offline = false; refreshPack().then(poll); }
  };
  window.addEventListener('offline', onOffline);
  window.addEventListener('online', onOnline);
  const timers = [
    setInterval(() => {
      if (pending.length) sync();
      else if (offline && navigator.onLine) refreshPack().then(poll);
    }, SYNC_RETRY_MS),
    setInterval(() => { if (!pending.length) poll(); }, CHANGES_POLL_MS),
    setInterval(() => { if (!offline && !pending.length) refreshPack(); }, PACK_REFRESH_MS),
  ];
  const stop = new MutationObserver(() => {
    if (!code.isConnected) {
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('online', onOnline);
      timers.forEach(clearInterval);
      stop.disconnect();
    }
  });
  stop.observe(document.body, { childList: true, subtree: true });
}
