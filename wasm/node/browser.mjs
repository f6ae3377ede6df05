// Drives headless Chromium through the loopback page: node browser.mjs INPUT.json OUTPUT.json
// INPUT: { url, chromium, userDataDir, screenshot, config, nativeFrames: [hex] }.
// OUTPUT: { loopback: what sframeLoopback returned, native: what sframeDecrypt returned,
// bench: ns per frame in the worker's wasm (if INPUT has bench: { suite, sizes, iterations }) }.
// Assertions are the caller's (wasm/tests/browser_loopback.rs), which also made nativeFrames.
import { drive } from './chromium.mjs';

await drive(async (page, input) => {
  await page.goto(`${input.url}/loopback.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.sframeLoopback === 'function');
  const loopback = await page.evaluate((c) => window.sframeLoopback(c), input.config);
  if (input.screenshot) await page.screenshot({ path: input.screenshot });
  const native = await page.evaluate((f) => window.sframeDecrypt(f), input.nativeFrames);
  await page.evaluate(() => window.sframeHangUp());
  const bench = input.bench ? await page.evaluate((b) => window.sframeBench(b), input.bench) : null;
  return { loopback, native, bench };
});
