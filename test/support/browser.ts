import { existsSync } from 'node:fs';
import { Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium (`apt-get install chromium`; .ci/run installs it), driven by playwright-core:
 * no browser is downloaded. SYMFEED_CHROMIUM names another binary.
 */
export const CHROMIUM = process.env.SYMFEED_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the web page tests need Chromium at ${CHROMIUM}: apt-get install chromium, or set SYMFEED_CHROMIUM`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}
