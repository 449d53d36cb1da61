import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, which CI installs (.ci/run). */
export const CHROMIUM = '/usr/bin/chromium';

/** CI must run the browser tests; elsewhere a machine without Chromium skips them. */
export const skipBrowser = !existsSync(CHROMIUM) && process.env['CI'] === undefined;

/** Chromium as the browser tests drive it: headless, no sandbox, no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
}
