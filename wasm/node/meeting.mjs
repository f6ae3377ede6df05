// Drives headless Chromium through the SFU's meeting page: node meeting.mjs INPUT.json OUTPUT.json
// INPUT: { url (the page, with its ?keys=), chromium, userDataDir, durationMs, screenshot,
// timeoutMs }. Joins, stays durationMs, takes the screenshot, collects the counts and hangs up.
// OUTPUT: { stats: window.sframeMeeting.stats() at the end, timeline: [{ atMs, installed }] }.
// Assertions are the caller's (wasm/tests/browser_meeting.rs).
import { drive } from './chromium.mjs';

await drive(async (page, input) => {
  await page.setViewport({ width: 1040, height: 400 });
  await page.goto(input.url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.sframeMeeting !== undefined);
  await page.evaluate(() => window.sframeMeeting.joined);
  console.error('meeting.mjs: joined');
  const timeline = [];
  const start = Date.now();
  while (Date.now() - start < input.durationMs) {
    await new Promise((r) => setTimeout(r, 1000));
    const { installed } = await page.evaluate(() => window.sframeMeeting.stats());
    timeline.push({ atMs: Date.now() - start, installed });
  }
  if (input.screenshot) await page.screenshot({ path: input.screenshot });
  const stats = await page.evaluate(() => window.sframeMeeting.stats());
  await page.evaluate(() => window.sframeMeeting.hangUp());
  return { stats, timeline };
});
