// Drives headless Chromium through the loopback page: node browser.mjs INPUT.json OUTPUT.json
// INPUT: { url, chromium, userDataDir, screenshot, config, nativeFrames: [hex] }.
// OUTPUT: { loopback: what sframeLoopback returned, native: what sframeDecrypt returned,
// bench: ns per frame in the worker's wasm (if INPUT has bench: { suite, sizes, iterations }) }.
// Assertions are the caller's (wasm/tests/browser_loopback.rs), which also made nativeFrames.
import { readFileSync, writeFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const [inputPath, outputPath] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputPath, 'utf8'));

// Give up (and close Chromium, which a killed node would leave running) after timeoutMs.
const deadline = setTimeout(async () => {
  console.error(`browser.mjs: no result after ${input.timeoutMs} ms`);
  await browser?.close().catch(() => {});
  process.exit(2);
}, input.timeoutMs ?? 90000);

let browser = null;
browser = await puppeteer.launch({
  executablePath: input.chromium,
  headless: true,
  userDataDir: input.userDataDir,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    `--user-data-dir=${input.userDataDir}`,
  ],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.error(`page: ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('workercreated', (w) => {
    w.on('console', (m) => console.error(`worker: ${m.type()}: ${m.text()}`));
    w.on('error', (e) => console.error(`worker error: ${e.message ?? e}`));
  });
  page.on('requestfailed', (r) => console.error(`request failed: ${r.url()}`));
  page.on('response', (r) => r.status() >= 400 && console.error(`${r.status()}: ${r.url()}`));
  await page.goto(`${input.url}/loopback.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.sframeLoopback === 'function');
  const loopback = await page.evaluate((c) => window.sframeLoopback(c), input.config);
  if (input.screenshot) await page.screenshot({ path: input.screenshot });
  const native = await page.evaluate((f) => window.sframeDecrypt(f), input.nativeFrames);
  await page.evaluate(() => window.sframeHangUp());
  const bench = input.bench ? await page.evaluate((b) => window.sframeBench(b), input.bench) : null;
  writeFileSync(outputPath, JSON.stringify({ loopback, native, bench,
    version: await browser.version() }));
} finally {
  await browser.close();
  clearTimeout(deadline);
}
