import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from 'vitest';
import { Client } from '../support/client.ts';
import { makePng } from '../support/fixtures.ts';
import {
  chooseFile,
  launchBrowser,
  newContext,
  openTool,
  recordedEvents,
  saveScreenshot,
  startWidgetService,
  errorText,
  listJobs,
  statusText,
  waitForPhase,
  widgetPhase,
  widgetJob,
  type WidgetService,
} from './support.ts';

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

describe('<boringkit-job> conversion', () => {
  it('converts a PNG and downloads the JPEG', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    await saveScreenshot(widget, 'idle');

    // A slow upload, so progress is seen moving.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 400 * 1024,
    });
    const png = await makePng(700, 600);
    await chooseFile(page, widget, {
      name: 'photo.png',
      mimeType: 'image/png',
      buffer: png,
    });

    const progressbar = widget.locator('[role="progressbar"]');
    const seen = new Set<number>();
    for (let sample = 0; sample < 200 && seen.size < 3; sample++) {
      const now = await progressbar
        .getAttribute('aria-valuenow')
        .catch(() => null);
      if (now !== null && Number(now) > 0 && Number(now) < 100)
        seen.add(Number(now));
      if (seen.size === 2) {
        await saveScreenshot(widget, 'uploading');
      }
      await page.waitForTimeout(50);
    }
    expect(seen.size).toBeGreaterThanOrEqual(2);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });

    await waitForPhase(widget, 'succeeded');
    expect(await statusText(widget)).toContain('photo.jpg');
    await saveScreenshot(widget, 'succeeded');

    const download = page.waitForEvent('download');
    await widget.locator('button', { hasText: 'Download' }).click();
    const path = await (await download).path();
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

    const job = await widgetJob(widget);
    const events = await recordedEvents(page);
    expect(events.map((event) => event.type)).toContain('boringkit-created');
    expect(events.at(-1)?.type).toBe('boringkit-succeeded');
    expect(events.every((event) => event.jobId === job.id)).toBe(true);
  });

  it('refuses a wrong type before any job', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    const jobsBefore = (await listJobs(service)).length;
    const creates: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') creates.push(request.url());
    });

    // Dropped, not chosen: the drop path checks the file too.
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(
        new File(['plain words'], 'notes.txt', { type: 'text/plain' }),
      );
      return transfer;
    });
    await widget.locator('#drop-zone').dispatchEvent('drop', { dataTransfer });

    const zone = widget.locator('#drop-zone');
    await expect.poll(() => errorText(widget)).toContain('notes.txt');
    expect(await errorText(widget)).toContain('text/plain');
    expect(await errorText(widget)).toContain('PNG, JPEG or WebP');
    expect(await zone.getAttribute('aria-invalid')).toBe('true');
    expect(await zone.getAttribute('aria-describedby')).toContain('error');
    expect(creates).toEqual([]);
    expect(await listJobs(service)).toHaveLength(jobsBefore);
    const events = await recordedEvents(page);
    expect(events.map((event) => event.code)).toContain(
      'FILE_TYPE_NOT_ACCEPTED',
    );
  });

  it('ignores a scripted file while options are invalid', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    await widget.evaluate((element) =>
      element.setAttribute('options', '{quality:80'),
    );
    await widget.locator('#drop-zone:disabled').waitFor();
    const jobsBefore = (await listJobs(service)).length;

    // The hidden input can still be set from a script.
    await widget.locator('#file').setInputFiles({
      name: 'photo.png',
      mimeType: 'image/png',
      buffer: await makePng(64, 48),
    });
    await page.waitForTimeout(500);

    expect(await listJobs(service)).toHaveLength(jobsBefore);
    expect(await widgetPhase(widget)).not.toBe('uploading');
  });

  it('refuses an oversized file before any job', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    const jobsBefore = (await listJobs(service)).length;
    const creates: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') creates.push(request.url());
    });

    // A sparse file one byte over the 50 MB limit of image-compress-api.
    const directory = await mkdtemp(join(tmpdir(), 'boringkit-widget-'));
    const path = join(directory, 'huge.png');
    await writeFile(path, await makePng(8, 8));
    await truncate(path, 50 * 1024 * 1024 + 1);
    try {
      await chooseFile(page, widget, path);
      await expect.poll(() => errorText(widget)).toContain('huge.png');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }

    const message = await errorText(widget);
    expect(message).toContain('52428800 bytes limit');
    expect(message).toContain('Choose a smaller file');
    expect(await widget.locator('#error').isVisible()).toBe(true);
    expect(creates).toEqual([]);
    expect(await listJobs(service)).toHaveLength(jobsBefore);
  });

  it('shows a failed job with its reason', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    // A PNG header followed by junk passes the upload check, then fails.
    const png = await makePng(16, 16);
    const corrupt = Buffer.concat([png.subarray(0, 40), Buffer.alloc(400, 7)]);
    await chooseFile(page, widget, {
      name: 'broken.png',
      mimeType: 'image/png',
      buffer: corrupt,
    });

    await waitForPhase(widget, 'failed');
    const job = await widgetJob(widget);
    expect(job.failure.code).toBeTruthy();
    expect(await statusText(widget)).toContain(job.failure.message);
    await saveScreenshot(widget, 'failed');
    const events = await recordedEvents(page);
    expect(events.at(-1)?.type).toBe('boringkit-failed');
    expect(events.at(-1)?.bubbles).toBe(true);
    expect(events.at(-1)?.composed).toBe(true);
  });

  it('submits the job id with its form', async () => {
    await page.goto(`${service.url}/?tool=image-compress-api`);
    await page.evaluate(
      ({ endpoint, token }) => {
        const form = document.createElement('form');
        form.id = 'upload-form';
        const widget = document.createElement('boringkit-job');
        widget.id = 'form-widget';
        widget.setAttribute('name', 'conversion');
        widget.setAttribute('endpoint', endpoint);
        widget.setAttribute('token', token);
        widget.setAttribute('tool', 'image-compress-api');
        widget.toggleAttribute('required', true);
        form.append(widget);
        document.body.append(form);
      },
      { endpoint: service.url, token: service.devKey },
    );
    const widget = page.locator('#form-widget');
    await widget.locator('#drop-zone:enabled').waitFor();
    const formValue = () =>
      page.evaluate(() => {
        const form = document.querySelector<HTMLFormElement>('#upload-form')!;
        return {
          value: new FormData(form).get('conversion'),
          valid: form.checkValidity(),
        };
      });
    expect(await formValue()).toEqual({ value: null, valid: false });

    await chooseFile(page, widget, {
      name: 'form.png',
      mimeType: 'image/png',
      buffer: await makePng(64, 64),
    });
    await waitForPhase(widget, 'succeeded');
    const job = await widgetJob(widget);
    expect(await formValue()).toEqual({ value: job.id, valid: true });
  });
});

describe('demo page', () => {
  it('embeds a widget token, not the key', async () => {
    const html = await (await fetch(`${service.url}/`)).text();
    expect(html).not.toContain(service.devKey);
    const token = /name="boringkit-token" content="([^"]*)"/.exec(html)?.[1];
    expect(token).toMatch(/^wt_[0-9A-Z]{26}\./);

    const demo = new Client(service.url, token);
    const tools = await demo.request('GET', '/v1/tools', undefined, {
      origin: service.url,
    });
    expect(tools.status).toBe(200);
    expect(tools.headers.get('access-control-allow-origin')).toBe(service.url);
    const credits = await demo.request('GET', '/v1/credits');
    expect(credits.status).toBe(403);
    expect(credits.body.code).toBe('WIDGET_TOKEN_NOT_ALLOWED');
  });

  it('mints a fresh token per load', async () => {
    const tokenOf = async () => {
      const html = await (await fetch(`${service.url}/`)).text();
      return /name="boringkit-token" content="([^"]*)"/.exec(html)?.[1];
    };
    const first = await tokenOf();
    const second = await tokenOf();
    expect(first).toBeTruthy();
    expect(second).not.toBe(first);
  });
});
