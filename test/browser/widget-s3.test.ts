import { readFile } from 'node:fs/promises';
import type {
  Browser,
  BrowserContext,
  Locator,
  Page,
  Request,
  Response,
} from 'playwright-core';
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
  s3ServiceEnv,
  startS3Server,
  type S3TestServer,
} from '../support/s3-server.ts';
import {
  startTestService,
  waitFor,
  type TestService,
} from '../support/service.ts';
import { mintToken } from '../support/widget-tokens.ts';
import { PageServer, widgetPage } from './page-server.ts';
import {
  chooseFile,
  errorText,
  launchBrowser,
  newContext,
  recordedEvents,
  statusText,
  widgetJob,
  widgetPhase,
} from './support.ts';

// The widget on a shop's page with the service on S3 storage. The page,
// the API and s3rver have three origins, so the browser checks CORS on the
// API calls, on the presigned PUT and on a page script's presigned GET.

const TOOL = 'image-compress-api';
const KEY_PREFIX = 'widget';

let shop: PageServer;
let s3: S3TestServer;
let service: TestService;
let client: Client;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let requests: Request[];
let responses: Map<Request, Response>;
let consoleLines: string[];

beforeAll(async () => {
  shop = await PageServer.start();
  [s3, browser] = await Promise.all([
    startS3Server('boringkit-widget', {
      cors: [
        {
          allowedOrigins: [shop.origin],
          allowedMethods: ['PUT', 'GET'],
          allowedHeaders: ['Content-Type'],
        },
      ],
    }),
    launchBrowser(),
  ]);
  service = await startTestService(s3ServiceEnv(s3, KEY_PREFIX));
  client = new Client(service.url);
});
afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await Promise.all([s3?.close(), shop?.close()]);
});
beforeEach(async ({ onTestFailed }) => {
  context = await newContext(browser);
  page = await context.newPage();
  requests = [];
  responses = new Map();
  consoleLines = [];
  page.on('request', (request) => requests.push(request));
  page.on('response', (response) =>
    responses.set(response.request(), response),
  );
  page.on('console', (message) =>
    consoleLines.push(
      `${message.type()}: ${message.text()} (${message.location().url})`,
    ),
  );
  page.on('pageerror', (error) => consoleLines.push(`uncaught: ${error}`));
  // Formats only what the page events recorded, because the page may be
  // closed by the time this callback runs.
  onTestFailed(() => {
    console.error(
      `Browser console:\n${consoleLines.join('\n')}\n` +
        `Requests:\n${requests.map(formatRequest).join('\n')}`,
    );
  });
});
afterEach(() => context.close());

function formatRequest(request: Request): string {
  const outcome =
    request.failure()?.errorText ??
    responses.get(request)?.status() ??
    'no response';
  return `${request.method()} ${request.url()} -> ${outcome}`;
}

interface Exchange {
  method: string;
  url: URL;
  origin: string | null;
  status: number | null;
  contentType: string | null;
}

/** Returns the page's requests so far, each with its response. */
function traffic(): Promise<Exchange[]> {
  return Promise.all(
    requests.map(async (request) => {
      const response = responses.get(request);
      return {
        method: request.method(),
        url: new URL(request.url()),
        origin: await request.headerValue('origin'),
        status: response?.status() ?? null,
        contentType: (await response?.headerValue('content-type')) ?? null,
      };
    }),
  );
}

/** Opens a shop page with a widget for TOOL and a token for the shop. */
async function openWidget(): Promise<Locator> {
  const { body: token } = await mintToken(client, {
    tools: [TOOL],
    origins: [shop.origin],
  });
  const url = shop.setPage(
    `/${token.id}`,
    widgetPage(service.url, { token: token.token, tool: TOOL }),
  );
  await page.goto(url);
  const widget = page.locator('#widget');
  await widget.locator('#drop-zone:enabled').waitFor({ timeout: 15_000 });
  return widget;
}

/** Returns the page's PUT requests, which only the upload sends. */
async function uploads(): Promise<Exchange[]> {
  return (await traffic()).filter((exchange) => exchange.method === 'PUT');
}

/**
 * Waits until the widget's job is final or the widget shows an error, as
 * after a blocked upload, and returns the phase with that error.
 */
function waitForOutcome(widget: Locator): Promise<string> {
  return waitFor(
    async () => {
      const phase = await widgetPhase(widget);
      if (['succeeded', 'failed', 'canceled'].includes(phase)) return phase;
      const error = await errorText(widget);
      return error ? `${phase}: ${error}` : undefined;
    },
    { timeoutMs: 45_000, intervalMs: 100, what: 'the outcome of the job' },
  );
}

/** Returns the page's console errors, except the 404 of its favicon. */
function consoleErrors(): string[] {
  return consoleLines.filter(
    (line) => line.startsWith('error') && !line.includes('/favicon.ico'),
  );
}

describe('<boringkit-job> on S3 storage', () => {
  it('converts a PNG and downloads from S3', async () => {
    expect(new Set([shop.origin, service.url, s3.endpoint]).size).toBe(3);
    const widget = await openWidget();
    const png = await makePng(160, 120);

    await chooseFile(page, widget, {
      name: 'shop.png',
      mimeType: 'image/png',
      buffer: png,
    });
    expect(await waitForOutcome(widget)).toBe('succeeded');
    const job = await widgetJob(widget);
    expect(job.input.sizeBytes).toBe(png.length);

    const [upload, ...more] = await uploads();
    expect(more).toEqual([]);
    expect(upload!.url.origin).toBe(s3.endpoint);
    expect(upload!.url.pathname).toBe(
      `/${s3.bucket}/${KEY_PREFIX}/uploads/${job.id}`,
    );
    expect(upload!.origin).toBe(shop.origin);
    expect(upload!.status).toBe(200);

    const download = page.waitForEvent('download');
    await widget.locator('button', { hasText: 'Download' }).click();
    const saved = await download;
    const url = new URL(saved.url());
    expect(url.origin).toBe(s3.endpoint);
    expect(url.pathname).toBe(
      `/${s3.bucket}/${KEY_PREFIX}/jobs/${job.id}/output`,
    );
    expect(saved.suggestedFilename()).toBe(job.output.name);
    const bytes = await readFile(await saved.path());
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(bytes.length).toBe(job.output.sizeBytes);
    const fetched = (await traffic()).find(
      (exchange) => exchange.url.href === saved.url(),
    );
    expect(fetched?.contentType).toBe('image/jpeg');

    // The download is a navigation, which CORS does not govern. A script of
    // the page that reads the output needs the bucket's GET rule. The fetch
    // skips the HTTP cache, because the navigation's response has no CORS
    // headers and no `Vary: Origin`, so a cached copy of it fails CORS.
    const read = await page.evaluate(async (url) => {
      const response = await fetch(url, { cache: 'no-store' });
      const head = new Uint8Array(await response.arrayBuffer()).slice(0, 3);
      return {
        contentType: response.headers.get('content-type'),
        head: [...head],
      };
    }, saved.url());
    expect(read.contentType).toBe('image/jpeg');
    expect(read.head).toEqual([0xff, 0xd8, 0xff]);

    const events = await recordedEvents(page);
    expect(events.at(-1)?.type).toBe('boringkit-succeeded');
    expect(events.every((event) => event.jobId === job.id)).toBe(true);
    expect(consoleErrors()).toEqual([]);
  });

  it('fails the job of a fake PNG', async () => {
    const widget = await openWidget();
    const png = await makePng(64, 64);
    const fake = Buffer.alloc(png.length, 'not a picture ');

    await chooseFile(page, widget, {
      name: 'fake.png',
      mimeType: 'image/png',
      buffer: fake,
    });
    expect(await waitForOutcome(widget)).toBe('failed');

    // S3 stores any bytes of the signed type and length, so the PUT succeeds
    // and the job fails once the service checks the upload.
    const [upload, ...more] = await uploads();
    expect(more).toEqual([]);
    expect(upload!.url.origin).toBe(s3.endpoint);
    expect(upload!.status).toBe(200);
    const job = await widgetJob(widget);
    expect(job.failure.code).toBe('invalid_input');
    expect(job.failure.message).toContain(
      'The uploaded bytes are not image/png',
    );
    expect(job.credits.refunded).toBe(job.credits.charged);
    expect(await statusText(widget)).toContain(job.failure.message);
    expect(
      await widget.locator('button', { hasText: 'Download' }).count(),
    ).toBe(0);

    const events = await recordedEvents(page);
    expect(events.at(-1)?.type).toBe('boringkit-failed');
    expect(events.at(-1)?.jobId).toBe(job.id);
    expect(consoleErrors()).toEqual([]);
  });
});
