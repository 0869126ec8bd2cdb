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
import { makePng } from '../support/fixtures.ts';
import {
  chooseFile,
  errorText,
  listJobs,
  launchBrowser,
  newContext,
  openTool,
  recordedEvents,
  saveScreenshot,
  slowPage,
  startWidgetService,
  statusText,
  waitForPhase,
  widgetJob,
  widgetPhase,
  type WidgetService,
} from './support.ts';

const HTML_TOOL = 'html-to-pdf-api';

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

/** Waits until the job the widget shows is claimed by a worker. */
async function waitForRunningJob(widget: ReturnType<Page['locator']>) {
  await waitForPhase(widget, 'running');
  await expect
    .poll(async () => (await widgetJob(widget))?.status, { timeout: 30_000 })
    .toBe('running');
  return widgetJob(widget);
}

describe('<boringkit-job> resilience', () => {
  it('cancels a running job', async () => {
    const widget = await openTool(page, service, HTML_TOOL);
    await chooseFile(page, widget, {
      name: 'slow.html',
      mimeType: 'text/html',
      buffer: slowPage(30),
    });
    const running = await waitForRunningJob(widget);
    expect(await statusText(widget)).toContain('Converting');
    await saveScreenshot(widget, 'running');

    await widget.locator('button', { hasText: 'Cancel' }).click();
    await waitForPhase(widget, 'canceled');
    const { body: job } = await service.client.getJob(running.id);
    expect(job.status).toBe('canceled');
    const events = await recordedEvents(page);
    expect(events.at(-1)?.type).toBe('boringkit-canceled');
    expect(events.at(-1)?.jobId).toBe(running.id);
  });

  it('finds its job again after a reload', async () => {
    const widget = await openTool(page, service, HTML_TOOL);
    await chooseFile(page, widget, {
      name: 'reload.html',
      mimeType: 'text/html',
      buffer: slowPage(3),
    });
    const running = await waitForRunningJob(widget);

    await page.reload();
    const reloaded = page.locator(`#job-${HTML_TOOL}`);
    await expect
      .poll(async () => (await widgetJob(reloaded))?.id)
      .toBe(running.id);
    await waitForPhase(reloaded, 'succeeded');
    expect(await statusText(reloaded)).toContain('reload.pdf');

    // The job stays found until the user starts over.
    await page.reload();
    await waitForPhase(page.locator(`#job-${HTML_TOOL}`), 'succeeded');
    await page
      .locator(`#job-${HTML_TOOL}`)
      .locator('button', { hasText: 'Convert another file' })
      .click();
    await page.reload();
    await openTool(page, service, HTML_TOOL);
    expect(await widgetJob(page.locator(`#job-${HTML_TOOL}`))).toBeNull();
  });

  it('polls when the socket drops mid-job', async () => {
    const polls: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (
        request.method() === 'GET' &&
        /^\/v1\/jobs\/[^/]+$/.test(url.pathname)
      ) {
        polls.push(url.pathname);
      }
    });
    let cut = 0;
    // Passes the first message on, then closes the page's side.
    await page.routeWebSocket(/\/stream/, (socket) => {
      const server = socket.connectToServer();
      server.onMessage((message) => {
        socket.send(message);
        cut += 1;
        void socket.close({ code: 4000, reason: 'cut by the test' });
        void server.close();
      });
    });

    const widget = await openTool(page, service, HTML_TOOL);
    await chooseFile(page, widget, {
      name: 'cut.html',
      mimeType: 'text/html',
      buffer: slowPage(2),
    });
    await waitForPhase(widget, 'succeeded');

    const job = await widgetJob(widget);
    expect(cut).toBe(1);
    expect(polls).toContain(`/v1/jobs/${job.id}`);
    expect(job.output.contentType).toBe('application/pdf');
  });

  it('ignores a second registration', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const widget = await openTool(page, service, 'image-compress-api');
    // A query string makes the browser evaluate the module a second time.
    await page.addScriptTag({
      type: 'module',
      url: `${service.url}/widget/boringkit-job.js?again`,
    });
    await page.waitForFunction(() =>
      Array.from(document.scripts).some((script) =>
        script.src.endsWith('?again'),
      ),
    );
    expect(errors).toEqual([]);
    expect(await widget.locator('#drop-zone').isEnabled()).toBe(true);
  });

  it('cancels during the upload', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 20 * 1024,
    });
    await chooseFile(page, widget, {
      name: 'stopped.png',
      mimeType: 'image/png',
      buffer: await makePng(400, 400),
    });
    const progressbar = widget.locator('[role="progressbar"]');
    await expect
      .poll(async () => Number(await progressbar.getAttribute('aria-valuenow')))
      .toBeGreaterThan(0);
    const uploading = await widgetJob(widget);

    await widget.locator('button', { hasText: 'Cancel' }).click();
    await waitForPhase(widget, 'canceled');
    const { body: job } = await service.client.getJob(uploading.id);
    expect(job.status).toBe('canceled');
    expect(job.credits.refunded).toBe(job.credits.charged);
    const { body: history } = await service.client.request(
      'GET',
      `/v1/jobs/${uploading.id}/events`,
    );
    const types = history.data.map((event: { type: string }) => event.type);
    expect(types).not.toContain('InputUploaded');
  });

  it('retries a lost create without a second job', async () => {
    const keys: string[] = [];
    await page.route('**/v1/jobs', async (route) => {
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      // The first create reaches the service, but its response is lost.
      const response = await route.fetch();
      if (keys.length === 1) {
        await route.fulfill({ status: 503, body: 'lost' });
      } else {
        await route.fulfill({ response });
      }
    });
    const jobsBefore = (await listJobs(service)).length;
    const widget = await openTool(page, service, 'image-compress-api');
    await chooseFile(page, widget, {
      name: 'retried.png',
      mimeType: 'image/png',
      buffer: await makePng(64, 64),
    });
    await waitForPhase(widget, 'succeeded');

    expect(keys).toHaveLength(2);
    expect(keys[0]).not.toBe('');
    expect(keys[1]).toBe(keys[0]);
    expect(await listJobs(service)).toHaveLength(jobsBefore + 1);
  });

  it('cancels an upload that a reload cut off', async () => {
    const widget = await openTool(page, service, 'image-compress-api');
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 20 * 1024,
    });
    await chooseFile(page, widget, {
      name: 'cut-off.png',
      mimeType: 'image/png',
      buffer: await makePng(400, 400),
    });
    await expect.poll(async () => (await widgetJob(widget))?.id).toBeTruthy();
    const uploading = await widgetJob(widget);

    await page.reload();
    const reloaded = page.locator('#job-image-compress-api');
    await expect.poll(() => errorText(reloaded)).toContain('cut-off.png');
    expect(await widgetPhase(reloaded)).toBe('idle');
    await expect
      .poll(async () => (await service.client.getJob(uploading.id)).body.status)
      .toBe('canceled');
  });

  it('shows the job named by job-id', async () => {
    const { body: created } = await service.client.createJob({
      toolSlug: HTML_TOOL,
      input: {
        kind: 'text',
        contentType: 'text/html',
        text: '<h1>Shown by id</h1>',
        options: {},
      },
    });
    await page.goto(`${service.url}/?tool=none`);
    await page.evaluate(
      ({ endpoint, token, jobId }) => {
        const widget = document.createElement('boringkit-job');
        widget.id = 'by-id';
        widget.setAttribute('endpoint', endpoint);
        widget.setAttribute('token', token);
        widget.setAttribute('job-id', jobId);
        document.body.append(widget);
      },
      { endpoint: service.url, token: service.devKey, jobId: created.id },
    );
    const widget = page.locator('#by-id');
    await waitForPhase(widget, 'succeeded');
    expect((await widgetJob(widget)).id).toBe(created.id);
    expect(
      await widget.locator('button', { hasText: 'Download' }).count(),
    ).toBe(1);
    // Without a tool there is nothing to start over with.
    expect(
      await widget.locator('button', { hasText: 'Convert another' }).count(),
    ).toBe(0);
  });
});
