// Headless Debian chromium for the Web UI tests (deploy/local/browser.sh installs it).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Fails with the install script's name when chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run deploy/local/browser.sh (or deploy/local/up.sh) as root`);
}

/** Launches headless chromium (requireChromium first). */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/**
 * On a workflow's page in the Temporal UI: the text of its Current Details (User Metadata tab; the panel renders
 * the Markdown in its own frame), once it contains `expected`.
 */
export async function currentDetails(page: Page, expected: string): Promise<string> {
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  const panel = page.getByText('Current Details', { exact: true }).locator('xpath=ancestor::*[3]');
  const details = panel.frameLocator('iframe').locator('body');
  await details.getByText(expected).waitFor({ timeout: 15_000 });
  return details.innerText();
}
