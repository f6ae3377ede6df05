// What the browser drivers share: reads INPUT.json, launches headless Chromium (Debian's, fake
// camera and microphone, a throwaway profile), logs the page's and its workers' console, runs
// `run(page, input)` and writes what it returns to OUTPUT.json. Gives up (closing Chromium,
// which a killed node would leave running) after input.timeoutMs. CHROMIUM_LOG=1 in the
// environment shows Chromium's own WebRTC log (RTP, SRTP, demuxing) on stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

export async function drive(run) {
  const [inputPath, outputPath] = process.argv.slice(2);
  const input = JSON.parse(readFileSync(inputPath, 'utf8'));
  let browser = null;
  const deadline = setTimeout(async () => {
    console.error(`${process.argv[1]}: no result after ${input.timeoutMs} ms`);
    await browser?.close().catch(() => {});
    process.exit(2);
  }, input.timeoutMs ?? 90000);
  browser = await puppeteer.launch({
    executablePath: input.chromium,
    headless: true,
    userDataDir: input.userDataDir,
    dumpio: !!process.env.CHROMIUM_LOG,
    args: [
      ...(process.env.CHROMIUM_LOG ? ['--enable-logging=stderr', '--v=0', '--vmodule=*rtp*=2,*srtp*=2,*demux*=2,*webrtc_video*=2'] : []),
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
    const output = await run(page, input);
    output.version = await browser.version();
    writeFileSync(outputPath, JSON.stringify(output));
  } finally {
    await browser.close();
    clearTimeout(deadline);
  }
}
