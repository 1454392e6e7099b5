// Lighthouse's accessibility score for the console's sign-in, overview,
// orders and door pages, at 375 and 1440 px, signed in (the token is kept
// in sessionStorage, so every page is audited in one tab).
//
//   npm install --prefix /tmp/lh lighthouse@12.8.2
//   cp docs/console/lighthouse.mjs /tmp/lh/ && cd /tmp/lh
//   node lighthouse.mjs http://127.0.0.1:3000 "$TOKEN" "$ADMIN_JSON"
//
// TOKEN and ADMIN_JSON are `data.token` and `data.admin` of
// POST /api/admin/auth/login. Needs Chromium at /usr/bin/chromium.
import lighthouse from 'lighthouse';
import puppeteer from 'puppeteer-core';

const [base, token, admin] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: 'new',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage();
const flags = (width) => ({
  onlyCategories: ['accessibility'],
  disableStorageReset: true,
  logLevel: 'error',
  formFactor: width < 800 ? 'mobile' : 'desktop',
  screenEmulation: { mobile: width < 800, width, height: width < 800 ? 812 : 900, deviceScaleFactor: width < 800 ? 2 : 1 },
});
const failing = (lhr) => Object.values(lhr.audits)
  .filter((a) => a.score === 0 && a.scoreDisplayMode === 'binary')
  .map((a) => a.id);
const scores = {};
const audit = async (name, path, width) => {
  const { lhr } = await lighthouse(`${base}/admin/${path}`, flags(width), undefined, page);
  const heading = await page.evaluate(() => document.querySelector('h1')?.textContent || '');
  scores[`${name} @${width}`] = { score: lhr.categories.accessibility.score * 100, heading, failing: failing(lhr) };
};
await audit('sign-in', '', 375);
await page.evaluate((t, a) => {
  sessionStorage.setItem('st.token', t);
  sessionStorage.setItem('st.admin', a);
}, token, admin);
for (const [name, path] of [['overview', ''], ['orders', 'orders'], ['door', 'door']]) {
  for (const width of [375, 1440]) await audit(name, path, width);
}
console.log(JSON.stringify(scores, null, 1));
await browser.close();
