import { readFile } from 'node:fs/promises';
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
import type { Json } from '../support/client.ts';
import { makePng } from '../support/fixtures.ts';
import { mintToken } from '../support/widget-tokens.ts';
import { PageServer, widgetPage } from './page-server.ts';
import {
  chooseFile,
  errorText,
  launchBrowser,
  listJobs,
  newContext,
  recordedEvents,
  startWidgetService,
  waitForPhase,
  widgetJob,
  type WidgetService,
} from './support.ts';

const TOOL = 'image-compress-api';

let service: WidgetService;
let browser: Browser;
let shop: PageServer;
let otherSite: PageServer;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [service, browser, shop, otherSite] = await Promise.all([
    startWidgetService(),
    launchBrowser(),
    PageServer.start(),
    PageServer.start(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([shop?.close(), otherSite?.close()]);
  await service?.stop();
});
beforeEach(async () => {
  context = await newContext(browser);
  page = await context.newPage();
});
afterEach(() => context.close());

/** Opens a page of `site` with a widget for TOOL that uses `token`. */
async function openWidget(site: PageServer, token: string, path = '/') {
  const url = site.setPage(
    path,
    widgetPage(service.url, { token, tool: TOOL }),
  );
  await page.goto(url);
  return page.locator('#widget');
}

async function convertPng(widget: ReturnType<Page['locator']>, name: string) {
  await widget.locator('#drop-zone:enabled').waitFor({ timeout: 15_000 });
  await chooseFile(page, widget, {
    name,
    mimeType: 'image/png',
    buffer: await makePng(120, 90),
  });
  await waitForPhase(widget, 'succeeded');
}

/** Sends a request with `token` from the page, as the widget's fetch does. */
function fetchFromPage(url: string, token: string) {
  return page.evaluate(
    async ({ url, token }) => {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.json()) as { code?: string };
      return { status: response.status, code: body.code };
    },
    { url, token },
  );
}

describe('<boringkit-job> on another origin', () => {
  it('converts a file through CORS', async () => {
    expect(shop.origin).not.toBe(new URL(service.url).origin);
    const { body: token } = await mintToken(service.client, {
      tools: [TOOL],
      origins: [shop.origin],
    });
    const origins = new Set<string>();
    page.on('request', async (request) => {
      if (!request.url().startsWith(service.url)) return;
      const origin = await request.headerValue('origin');
      if (origin) origins.add(origin);
    });

    const widget = await openWidget(shop, token.token);
    await convertPng(widget, 'shop.png');

    const download = page.waitForEvent('download');
    await widget.locator('button', { hasText: 'Download' }).click();
    const bytes = await readFile(await (await download).path());
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));

    expect([...origins]).toEqual([shop.origin]);
    const job = await widgetJob(widget);
    const { body: events } = await service.client.request(
      'GET',
      `/v1/jobs/${job.id}/events`,
    );
    const created = events.data.find(
      (event: Json) => event.type === 'JobCreated',
    );
    expect(created.data.widgetTokenId).toBe(token.id);
  });

  it("is blocked on an origin the token doesn't allow", async () => {
    const { body: token } = await mintToken(service.client, {
      tools: [TOOL],
      origins: [shop.origin],
    });
    const jobsBefore = (await listJobs(service)).length;

    // No token allows this origin, so the preflight already fails.
    let widget = await openWidget(otherSite, token.token);
    await expect.poll(() => errorText(widget)).toContain(otherSite.origin);
    expect(await errorText(widget)).toContain(`Loading tool "${TOOL}" failed`);
    expect(await widget.locator('#drop-zone:enabled').count()).toBe(0);

    // With another token for this origin the preflight passes, and the
    // service rejects the request because this token does not allow it.
    await mintToken(service.client, { origins: [otherSite.origin] });
    widget = await openWidget(otherSite, token.token, '/again');
    await expect.poll(() => errorText(widget)).toContain(otherSite.origin);
    expect(await widget.locator('#drop-zone:enabled').count()).toBe(0);

    const refused = await fetchFromPage(`${service.url}/v1/tools`, token.token)
      .then(() => 'read')
      .catch((error: Error) => error.message);
    expect(refused).toContain('Failed to fetch');
    expect(await listJobs(service)).toHaveLength(jobsBefore);
  });

  it("cannot read another credential's job", async () => {
    const { body: token } = await mintToken(service.client, {
      tools: [TOOL],
      origins: [shop.origin],
    });
    const { body: sibling } = await mintToken(service.client, {
      tools: [TOOL],
      origins: [shop.origin],
    });
    const png = await makePng(16, 16);
    const input = {
      kind: 'file',
      name: 'other.png',
      contentType: 'image/png',
      sizeBytes: png.length,
      options: {},
    };
    const { body: keyJob } = await service.client.createJob({
      toolSlug: TOOL,
      input,
    });
    const siblingJob = (
      await service.client.request(
        'POST',
        '/v1/jobs',
        { toolSlug: TOOL, input },
        { authorization: `Bearer ${sibling.token}` },
      )
    ).body;

    await openWidget(shop, token.token);
    for (const job of [keyJob, siblingJob]) {
      const read = await fetchFromPage(
        `${service.url}/v1/jobs/${job.id}`,
        token.token,
      );
      expect(read).toEqual({ status: 404, code: 'JOB_NOT_FOUND' });
      const download = await fetchFromPage(
        `${service.url}/v1/jobs/${job.id}/download-intent`,
        token.token,
      );
      expect(download).toEqual({ status: 404, code: 'JOB_NOT_FOUND' });
    }

    const url = shop.setPage(
      '/job',
      widgetPage(service.url, { token: token.token, 'job-id': keyJob.id }),
    );
    await page.goto(url);
    const widget = page.locator('#widget');
    await expect
      .poll(() => errorText(widget))
      .toContain('reaches only the jobs it created');
  });

  it('shows the job limit of its token', async () => {
    const { body: token } = await mintToken(service.client, {
      tools: [TOOL],
      origins: [shop.origin],
      maxJobs: 1,
    });
    const widget = await openWidget(shop, token.token);
    await convertPng(widget, 'first.png');

    await widget.locator('button', { hasText: 'Convert another file' }).click();
    await chooseFile(page, widget, {
      name: 'second.png',
      mimeType: 'image/png',
      buffer: await makePng(40, 30),
    });
    await expect.poll(() => errorText(widget)).toContain('allows 1 job');
    expect(await widget.locator('#error').isVisible()).toBe(true);
    const events = await recordedEvents(page);
    expect(events.map((event) => event.code)).toContain(
      'WIDGET_TOKEN_JOB_LIMIT_REACHED',
    );
  });
});
