import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from 'vitest';
import { makePng } from '../support/fixtures.ts';
import {
  AXE_SCRIPT,
  chooseFile,
  errorText,
  launchBrowser,
  newContext,
  openTool,
  slowPage,
  startWidgetService,
  statusText,
  waitForPhase,
  type WidgetService,
} from './support.ts';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

let service: WidgetService;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [service, browser] = await Promise.all([
    startWidgetService(),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await service?.stop();
});
beforeEach(async () => {
  context = await newContext(browser);
  page = await context.newPage();
});
afterEach(() => context.close());

/** Runs axe-core on the whole page, shadow roots included. */
async function seriousViolations(): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ path: AXE_SCRIPT });
  }
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(): Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((violation) => ['serious', 'critical'].includes(violation.impact!))
    .map(
      (violation) =>
        `${violation.id}: ${violation.help} at ${JSON.stringify(
          violation.nodes.map((node) => node.target),
        )}`,
    );
}

async function tabTo(target: Locator, maxTabs = 20): Promise<void> {
  for (let tab = 0; tab < maxTabs; tab++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((element) => element.matches(':focus'))) return;
  }
  throw new Error(`Tab did not reach the element in ${maxTabs} presses`);
}

describe('<boringkit-job> accessibility', () => {
  it('axe finds nothing serious on the demo page', async () => {
    await page.goto(service.url);
    await page
      .locator('boringkit-job')
      .first()
      .locator('#drop-zone:enabled')
      .waitFor();
    expect(await page.locator('boringkit-job').count()).toBeGreaterThan(1);
    expect(await seriousViolations()).toEqual([]);
  });

  it('axe finds nothing serious in error and result states', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    await chooseFile(page, widget, {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('plain words'),
    });
    await expect.poll(() => errorText(widget)).toContain('notes.txt');
    expect(await seriousViolations()).toEqual([]);

    await chooseFile(page, widget, {
      name: 'ok.png',
      mimeType: 'image/png',
      buffer: await makePng(64, 64),
    });
    await waitForPhase(widget, 'succeeded');
    expect(await seriousViolations()).toEqual([]);
  });

  it('opens the file chooser from the keyboard', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    const zone = widget.locator('#drop-zone');
    await tabTo(zone);
    expect(await zone.evaluate((element) => element.tagName)).toBe('BUTTON');

    for (const key of ['Enter', 'Space']) {
      const chooser = page.waitForEvent('filechooser', { timeout: 5_000 });
      await page.keyboard.press(key);
      // Choosing nothing closes the chooser, as Cancel in its dialog does.
      await (await chooser).setFiles([]);
    }
  });

  it('exposes progress and announces status', async () => {
    const widget = await openTool(page, service, 'html-to-pdf-api');
    const status = widget.locator('#status');
    expect(await status.getAttribute('role')).toBe('status');
    expect(await widget.locator('#error').getAttribute('role')).toBe('alert');

    await chooseFile(page, widget, {
      name: 'a11y.html',
      mimeType: 'text/html',
      buffer: slowPage(2),
    });
    const progressbar = widget.locator('[role="progressbar"]');
    await progressbar.waitFor();
    expect(await progressbar.getAttribute('aria-valuemin')).toBe('0');
    expect(await progressbar.getAttribute('aria-valuemax')).toBe('100');
    // An indeterminate bar has no value, as WAI-ARIA specifies.
    const [valueNow, indeterminate] = await progressbar.evaluate((element) => [
      element.getAttribute('aria-valuenow'),
      element.classList.contains('indeterminate'),
    ]);
    expect(
      valueNow === null ? indeterminate : /^\d+$/.test(String(valueNow)),
    ).toBe(true);
    expect(await progressbar.getAttribute('aria-label')).toBeTruthy();
    expect(await seriousViolations()).toEqual([]);
    // Focus moved from the removed drop zone to the Cancel button.
    expect(
      await widget
        .locator('button', { hasText: 'Cancel' })
        .evaluate((element) => element.matches(':focus')),
    ).toBe(true);

    await waitForPhase(widget, 'succeeded');
    expect(await statusText(widget)).toContain('a11y.pdf');
    expect(
      await widget
        .locator('button', { hasText: 'Download' })
        .evaluate((element) => element.matches(':focus')),
    ).toBe(true);
  });
});
