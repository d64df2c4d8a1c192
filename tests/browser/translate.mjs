// translate.mjs - drives the page of `xlat-decode --serve` in headless Chromium (Debian's /usr/bin/chromium, through
// playwright-core): opens it, types a sentence, presses Translate, checks #target shows the expected translation,
// then Ctrl+Enter on two lines (one blank between them), then clicks a line and checks an <svg> heatmap appears in
// #attention. Used by tests/cli_browser.sh; exits 1 with a message naming what was wrong.
//
// usage: node translate.mjs URL SENTENCE EXPECTED [SENTENCE2 EXPECTED2] [SCREENSHOT.png]
import { chromium } from 'playwright-core';

const [url, sentence, expected, sentence2, expected2, screenshot] = process.argv.slice(2);
if (!url || sentence === undefined || expected === undefined) {
  console.error('usage: node translate.mjs URL SENTENCE EXPECTED [SENTENCE2 EXPECTED2] [SCREENSHOT.png]');
  process.exit(2);
}
const TIMEOUT = 30000;
const problems = [];
const pageErrors = [];

const browser = await chromium.launch({
  executablePath: process.env.XLAT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  const res = await page.goto(url);
  if (!res || res.status() !== 200) throw new Error(`GET ${url}: status ${res && res.status()}`);
  const ctype = res.headers()['content-type'] || '';
  if (!ctype.startsWith('text/html')) problems.push(`GET /: Content-Type "${ctype}", expected text/html`);

  // the language pair from /languages fills the selectors and enables the button
  await page.waitForFunction(() => !document.getElementById('translate').disabled);
  const pair = await page.evaluate(() => [document.getElementById('source-lang').value,
    document.getElementById('target-lang').value]);
  if (!pair[0] || !pair[1]) problems.push(`language pair not filled from /languages: ${JSON.stringify(pair)}`);

  // one sentence, the button
  await page.fill('#source', sentence);
  await page.click('#translate');
  await page.waitForFunction(() => document.getElementById('target').textContent.trim() !== '' ||
    document.getElementById('error').textContent !== '');
  const err = await page.textContent('#error');
  if (err) throw new Error(`#error says: ${err}`);
  const got = await page.textContent('#target');
  if (got !== expected) problems.push(`#target is ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);

  // two lines with a blank one between them, Ctrl+Enter: lines keep their order, the blank line stays blank
  if (sentence2 !== undefined) {
    const want = `${expected2}\n\n${expected}`;
    await page.fill('#source', `${sentence2}\n\n${sentence}`);
    await page.press('#source', 'Control+Enter');
    try {
      await page.waitForFunction((w) => document.getElementById('target').textContent === w, want);
    } catch (e) {
      const now = await page.textContent('#target');
      problems.push(`after Ctrl+Enter on 3 lines #target is ${JSON.stringify(now)}, expected ${JSON.stringify(want)}`);
    }
  }

  // a line of the translation is a button: its attention map appears as an inline <svg>
  const lines = page.locator('#target .line');
  const n = await lines.count();
  if (n === 0) throw new Error('#target has no clickable line');
  await lines.nth(n - 1).click();
  try {
    await page.waitForSelector('#attention svg');
  } catch (e) {
    throw new Error(`no <svg> in #attention after clicking a line (#error: ${JSON.stringify(await page.textContent('#error'))})`);
  }
  const svg = await page.evaluate(() => {
    const s = document.querySelector('#attention svg');
    return { ns: s.namespaceURI, children: s.querySelectorAll('*').length, scripts: s.querySelectorAll('script').length };
  });
  if (svg.ns !== 'http://www.w3.org/2000/svg') problems.push(`#attention svg has namespace ${svg.ns}`);
  if (svg.children === 0) problems.push('#attention svg is empty');
  if (svg.scripts !== 0) problems.push('#attention svg kept a <script>');
  if ((await lines.nth(n - 1).getAttribute('aria-pressed')) !== 'true') problems.push('the clicked line is not marked pressed');
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  problems.push(e.message);
} finally {
  await browser.close();
}
for (const e of pageErrors) problems.push(`page error: ${e}`);
if (problems.length) {
  for (const p of problems) console.error(`FAIL: ${p}`);
  process.exit(1);
}
console.log('browser: page loaded, translated, attention shown');
