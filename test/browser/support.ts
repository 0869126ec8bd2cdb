import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from 'playwright-core';
import { Client, type Json } from '../support/client.ts';
import {
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';
import { chromiumExecutablePath } from '../../workers/engines/chromium.ts';

/**
 * Directory of the widget's screenshots. The browser tests refresh the ones
 * in docs/widget/ when BORINGKIT_UPDATE_SCREENSHOTS is 1, and otherwise
 * write them to a temporary directory, so a test run leaves the tree clean.
 */
export const SCREENSHOT_DIR =
  process.env.BORINGKIT_UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/widget/', import.meta.url))
    : join(tmpdir(), 'boringkit-widget-screenshots');

/** Returns a page whose script keeps Chromium busy, so the job runs long. */
export function slowPage(seconds: number): Buffer {
  return Buffer.from(
    '<!doctype html><title>Slow</title><script>' +
      `const end = Date.now() + ${seconds * 1000};` +
      'while (Date.now() < end) {}' +
      '</script><h1>Rendered after a wait</h1>',
  );
}

/** The service with its generated development key, as `npm start` runs. */
export interface WidgetService extends TestService {
  devKey: string;
  client: Client;
}

export async function startWidgetService(): Promise<WidgetService> {
  // An empty BORINGKIT_API_KEYS makes the service generate the dev key,
  // which the demo page embeds.
  const service = await startTestService({ BORINGKIT_API_KEYS: '' });
  const devKey = (
    await readFile(join(service.dataDir, 'dev-api-key'), 'utf8')
  ).trim();
  return { ...service, devKey, client: new Client(service.url, devKey) };
}

/**
 * Launches Debian's Chromium headless. Every request that is not to the
 * loopback goes to a dead proxy port, so a test page cannot reach another
 * host even by mistake.
 */
export function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumExecutablePath();
  if (!executablePath) {
    throw new Error(
      "No Chromium found for the browser tests. Install Debian's chromium " +
        'package (npm test runs bin/setup.mjs, which does) or set CHROMIUM_PATH.',
    );
  }
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--proxy-server=http://127.0.0.1:9',
    ],
  });
}

/** Records every `boringkit-*` event of the page in `window.widgetEvents`. */
const RECORD_EVENTS = `
  window.widgetEvents = [];
  for (const type of ['created', 'progress', 'succeeded', 'failed',
                      'canceled', 'error']) {
    document.addEventListener('boringkit-' + type, (event) => {
      window.widgetEvents.push({
        type: event.type,
        bubbles: event.bubbles,
        composed: event.composed,
        jobId: event.detail.job ? event.detail.job.id : null,
        status: event.detail.job ? event.detail.job.status : null,
        stage: event.detail.stage ?? null,
        progress: event.detail.progress ?? null,
        code: event.detail.error ? event.detail.error.code : null,
      });
    });
  }
`;

export interface RecordedEvent {
  type: string;
  bubbles: boolean;
  composed: boolean;
  jobId: string | null;
  status: string | null;
  stage: string | null;
  progress: number | null;
  code: string | null;
}

export async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 900, height: 700 },
    deviceScaleFactor: 1,
    acceptDownloads: true,
  });
  await context.addInitScript(RECORD_EVENTS);
  // Playwright intercepts file choosers only while a listener exists, and
  // switching that on takes a round trip. A listener from the start keeps
  // a quick key press from opening a chooser before the interception.
  context.on('page', (page) => page.on('filechooser', () => undefined));
  return context;
}

export function recordedEvents(page: Page): Promise<RecordedEvent[]> {
  return page.evaluate(
    () => (window as unknown as { widgetEvents: RecordedEvent[] }).widgetEvents,
  );
}

/**
 * Opens the demo page with one tool and returns its widget once the tool
 * is loaded and the drop zone takes files.
 */
export async function openTool(
  page: Page,
  service: WidgetService,
  slug: string,
): Promise<Locator> {
  await page.goto(`${service.url}/?tool=${slug}`);
  const widget = page.locator(`#job-${slug}`);
  await widget.locator('#drop-zone:enabled').waitFor({ timeout: 15_000 });
  return widget;
}

/** Chooses a file through the drop zone's file chooser, as a user does. */
export async function chooseFile(
  page: Page,
  widget: Locator,
  file: string | { name: string; mimeType: string; buffer: Buffer },
): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await widget.locator('#drop-zone').click();
  await (await chooser).setFiles(file);
}

export function widgetPhase(widget: Locator): Promise<string> {
  return widget.evaluate(
    (element) => (element as unknown as { phase: string }).phase,
  );
}

export function widgetJob(widget: Locator): Promise<Json> {
  return widget.evaluate(
    (element) => (element as unknown as { job: unknown }).job,
  );
}

/** Waits until the widget shows `phase`, failing with the phase it shows. */
export async function waitForPhase(
  widget: Locator,
  phase: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    async () => ((await widgetPhase(widget)) === phase ? true : undefined),
    { timeoutMs, intervalMs: 50, what: `the widget to show ${phase}` },
  );
}

/** Returns the text of the widget's status live region. */
export function statusText(widget: Locator): Promise<string> {
  return widget.locator('#status').innerText();
}

export function errorText(widget: Locator): Promise<string> {
  return widget.locator('#error').innerText();
}

/** Path of axe-core's browser build, injected into pages under test. */
export const AXE_SCRIPT = createRequire(import.meta.url).resolve(
  'axe-core/axe.min.js',
);

export async function listJobs(service: WidgetService): Promise<Json[]> {
  const { body } = await service.client.request('GET', '/v1/jobs?limit=100');
  return body.data;
}

/** Saves a screenshot of the widget as NAME.png in SCREENSHOT_DIR. */
export async function saveScreenshot(
  widget: Locator,
  name: string,
): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await widget.screenshot({
    path: join(SCREENSHOT_DIR, `${name}.png`),
    animations: 'disabled',
  });
}
