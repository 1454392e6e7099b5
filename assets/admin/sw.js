// The console's service worker: keeps the console's files so 检票 opens
// and works with no network. API calls are never touched here (the door
// keeps its own data in IndexedDB); the page is fetched fresh when it can
// be, and the versioned files, which never change, come from the cache.

const VERSION = '__BUILD__';
const CACHE = `console-${VERSION}`;
const SHELL = __SHELL__;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('console-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/admin/')) return;
  if (req.mode === 'navigate') {
    // Any console page is index.html; the router draws the rest.
    event.respondWith(fetch(req).catch(() => caches.match('/admin/', { cacheName: CACHE })));
    return;
  }
  if (url.searchParams.get('v') === VERSION) {
    event.respondWith(caches.match(req, { cacheName: CACHE }).then((hit) => hit || fetch(req)));
  }
});
