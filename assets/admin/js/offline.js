// What the door keeps on the device, in IndexedDB: each show's door pack
// (to decide with no network) and the queue of scans made offline (sent by
// /api/admin/checkin/sync when the network is back). Both survive a reload
// and a closed tab.

const DB = 'standup-door';

let opening = null;

function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        d.createObjectStore('packs', { keyPath: 'eventId' });
        d.createObjectStore('queue', { keyPath: 'id', autoIncrement: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => { opening = null; reject(req.error); };
    });
  }
  return opening;
}

async function run(store, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction(store, mode);
    const req = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(req && req.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const savePack = (pack) => run('packs', 'readwrite', (s) => s.put({ ...pack, savedAt: Date.now() }));
export const loadPack = (eventId) => run('packs', 'readonly', (s) => s.get(eventId));
export const allPacks = () => run('packs', 'readonly', (s) => s.getAll());

/** Queues a scan made offline; resolves to its queue id. */
export const enqueue = (scan) => run('queue', 'readwrite', (s) => s.add(scan));
export const queued = () => run('queue', 'readonly', (s) => s.getAll());
export const dequeue = (ids) => run('queue', 'readwrite', (s) => {
  for (const id of ids) s.delete(id);
  return null;
});
