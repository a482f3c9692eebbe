// Headless Debian chromium through playwright-core (never its own browser download).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.FLOWEX_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

// browsers launched or launching and not closed yet: closeAll() (a runner's signal handler)
// waits for them, closes them and removes their profile dirs
const open = new Set();
export async function closeAll() {
  await Promise.all([...open].map((p) => p.then((b) => b.close(), () => {})));
}

/** Launches chromium with a fresh user-data-dir; throws (never skips) when it is missing. */
export function launch(opts = {}) {
  const p = launchChromium(opts);
  open.add(p);
  p.catch(() => open.delete(p));
  p.then((b) => { b.launched = p; }, () => {});
  return p;
}

async function launchChromium({ viewport = { width: 1400, height: 900 } } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set FLOWEX_CHROMIUM`);
  }
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed in web/node_modules (run npm ci in web/): ${e.message}`);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowex-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      acceptDownloads: true,
      // the runners close the browser themselves on a signal (closeAll), so the profile dir is removed after chromium exits
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (e) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closing = null; // one close, however many callers (a test runner and a signal handler)
  const browser = {
    context,
    close: () => (closing ??= (async () => {
      open.delete(browser.launched);
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    })()),
  };
  return browser;
}
