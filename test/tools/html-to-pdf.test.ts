import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChromiumPool } from '../../workers/engines/chromium.ts';
import { createHtmlToPdfRunner } from '../../workers/tools/html-to-pdf.ts';
import type { ToolRunContext } from '../../workers/tool.ts';

const run = promisify(execFile);

let root: string;
const pool = new ChromiumPool();
const runner = createHtmlToPdfRunner(pool);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'html-to-pdf-'));
});

afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

interface TestRun {
  context: ToolRunContext;
  controller: AbortController;
}

async function makeRun(
  body: string,
  contentType = 'text/html',
  options: Record<string, unknown> = {},
): Promise<TestRun> {
  const workDir = await mkdtemp(join(root, 'work-'));
  const inputPath = join(workDir, 'input');
  await writeFile(inputPath, body);
  const controller = new AbortController();
  const context: ToolRunContext = {
    jobId: 'job_test',
    attempt: 1,
    input: {
      kind: 'file',
      name: 'invoice.html',
      contentType,
      sizeBytes: Buffer.byteLength(body),
    },
    inputPath,
    options: {
      format: 'A4',
      landscape: false,
      printBackground: true,
      ...options,
    },
    workDir,
    signal: controller.signal,
    reportProgress: () => undefined,
    logger: pino({ level: 'silent' }),
  };
  return { context, controller };
}

async function pdfText(path: string): Promise<string> {
  return (await run('pdftotext', [path, '-'])).stdout;
}

/** Returns [width, height] in points of the first page, from pdfinfo. */
async function pageSize(path: string): Promise<number[]> {
  const { stdout } = await run('pdfinfo', [path]);
  const match = /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec(stdout);
  return [Number(match?.[1]), Number(match?.[2])];
}

function section(text: string): string {
  return `<section style="break-after: page"><h1>${text}</h1></section>`;
}

describe('html-to-pdf', () => {
  it('renders one page per section', async () => {
    const html = section('Apples') + section('Bananas') + section('Cherries');
    const { context } = await makeRun(html);

    const output = await runner.run(context);
    const text = await pdfText(output.path);

    expect(output.metadata.pages).toBe(3);
    expect(text).toContain('Apples');
    expect(text).toContain('Bananas');
    expect(text).toContain('Cherries');
    expect(text.split('\f').filter((page) => page.trim())).toHaveLength(3);
    expect(output.name).toBe('invoice.pdf');
    expect(output.contentType).toBe('application/pdf');
  });

  it('ignores window.print on load', async () => {
    const { context } = await makeRun(
      '<body onload="window.print()"><h1>Invoice 42</h1></body>',
    );

    const output = await runner.run(context);

    expect(await pdfText(output.path)).toContain('Invoice 42');
  });

  it('rejects margins larger than the page', async () => {
    const { context } = await makeRun('<p>squeezed</p>', 'text/html', {
      margin: { top: '20in', bottom: '20in' },
    });

    const error = await runner.run(context).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: 'invalid_options' });
  });

  it('accepts a JSON payload', async () => {
    const payload = JSON.stringify({ html: '<p>From JSON</p>' });
    const { context } = await makeRun(payload, 'application/json');

    const output = await runner.run(context);

    expect(output.metadata.pages).toBe(1);
    expect(await pdfText(output.path)).toContain('From JSON');
  });

  it('rejects malformed JSON', async () => {
    const { context } = await makeRun('{"html": ', 'application/json');

    await expect(runner.run(context)).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'invalid_input',
    });
  });

  it('rejects JSON without html', async () => {
    const { context } = await makeRun(
      '{"body": "<p>x</p>"}',
      'application/json',
    );

    await expect(runner.run(context)).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'invalid_input',
    });
  });

  it('renders portrait by default', async () => {
    const { context } = await makeRun('<p>Tall</p>');

    const output = await runner.run(context);
    const [width = 0, height = 0] = await pageSize(output.path);

    expect(width).toBeLessThan(height);
  });

  it('renders landscape', async () => {
    const { context } = await makeRun('<p>Wide</p>', 'text/html', {
      landscape: true,
    });

    const output = await runner.run(context);
    const [width = 0, height = 0] = await pageSize(output.path);

    expect(width).toBeGreaterThan(height);
  });

  describe('with a local server', () => {
    let server: Server;
    let udp: UdpSocket;
    let port: number;
    let udpPort: number;
    const hits = { connections: 0, requests: 0, upgrades: 0, datagrams: 0 };

    beforeAll(async () => {
      server = createServer((request, response) => {
        hits.requests += 1;
        response.end('leaked');
      });
      server.on('connection', () => (hits.connections += 1));
      server.on('upgrade', (request, socket) => {
        hits.upgrades += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) =>
        server.listen(0, '127.0.0.1', resolve),
      );
      port = (server.address() as AddressInfo).port;

      udp = createSocket('udp4');
      udp.on('message', () => (hits.datagrams += 1));
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
      udpPort = udp.address().port;
    });

    afterAll(async () => {
      udp.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('sends no request out', async () => {
      const origin = `http://127.0.0.1:${port}`;
      const html = `
        <link rel="stylesheet" href="${origin}/style.css">
        <link rel="prefetch" href="${origin}/prefetch">
        <link rel="preconnect" href="http://localhost:${port}">
        <img src="${origin}/image.png">
        <iframe src="${origin}/frame"></iframe>
        <script>
          fetch('${origin}/fetch').catch(() => {});
          navigator.sendBeacon('${origin}/beacon', 'payload');
          new WebSocket('ws://127.0.0.1:${port}/socket');
          const peer = new RTCPeerConnection({
            iceServers: [
              {
                urls: [
                  'stun:127.0.0.1:${udpPort}',
                  'turn:127.0.0.1:${udpPort}?transport=udp',
                  'turn:127.0.0.1:${port}?transport=tcp',
                ],
                username: 'user',
                credential: 'secret',
              },
            ],
          });
          peer.createDataChannel('leak');
          peer.createOffer().then((offer) => peer.setLocalDescription(offer));
          // Keep the page open while the requests above are in flight.
          const end = Date.now() + 1000;
          while (Date.now() < end) {}
        </script>
        <p>Offline</p>`;
      const { context } = await makeRun(html);

      const output = await runner.run(context);
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(hits.connections).toBe(0);
      expect(hits.requests).toBe(0);
      expect(hits.upgrades).toBe(0);
      expect(hits.datagrams).toBe(0);
      expect(output.metadata.blockedRequests).toBeGreaterThan(0);
      expect(await pdfText(output.path)).toContain('Offline');
    });

    it.each([
      ['a script', '<script>location.href = "TARGET";</script>'],
      ['a meta refresh', '<meta http-equiv="refresh" content="0;url=TARGET">'],
      [
        'a form',
        '<form action="TARGET" method="post"></form>' +
          '<script>document.forms[0].submit();</script>',
      ],
    ])('fails when %s navigates away', async (_name, snippet) => {
      const target = `http://127.0.0.1:${port}/away`;
      const html = `<h1>Original page</h1>${snippet.replace('TARGET', target)}`;
      const { context } = await makeRun(html);

      const error = await runner.run(context).catch((caught) => caught);

      expect(error).toMatchObject({ name: 'InvalidInputError' });
      expect(error).toMatchObject({ code: 'navigation_blocked' });
      expect((error as Error).message).toContain(target);
      expect(hits.requests).toBe(0);
    });
  });

  it('stops a busy page on abort', async () => {
    const busy =
      '<script>const end = Date.now() + 20000; while (Date.now() < end) {}' +
      '</script><p>Never printed</p>';
    const { context, controller } = await makeRun(busy);
    const running = runner.run(context).catch((caught: unknown) => caught);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const abortedAt = Date.now();
    controller.abort();
    const error = await running;
    const abortMs = Date.now() - abortedAt;

    expect(error).toMatchObject({ name: 'AbortError' });
    expect(abortMs).toBeLessThan(2_000);

    const next = await makeRun('<p>Next job</p>');
    const startedAt = Date.now();
    const output = await runner.run(next.context);

    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(await pdfText(output.path)).toContain('Next job');
  });

  it('fails a busy page at the render timeout', async () => {
    const quickRunner = createHtmlToPdfRunner(pool, { renderTimeoutMs: 1_000 });
    const busy =
      '<script>const end = Date.now() + 20000; while (Date.now() < end) {}' +
      '</script>';
    const { context } = await makeRun(busy);
    const startedAt = Date.now();

    const error = await quickRunner
      .run(context)
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'InvalidInputError' });
    expect(error).toMatchObject({ code: 'render_timeout' });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
  });

  it('rejects an aborted signal', async () => {
    const { context, controller } = await makeRun('<p>Never</p>');
    controller.abort();

    await expect(runner.run(context)).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

/** Counts the Chromium processes this process started that still run. */
async function childBrowserCount(): Promise<number> {
  const children = await readFile(
    `/proc/${process.pid}/task/${process.pid}/children`,
    'utf8',
  );
  const names = await Promise.all(
    children
      .split(' ')
      .filter((pid) => pid !== '')
      .map((pid) =>
        readFile(`/proc/${pid}/comm`, 'utf8').catch(() => 'exited'),
      ),
  );
  return names.filter((name) => name.trim() === 'chromium').length;
}

describe('ChromiumPool', () => {
  it('replaces the browser after maxJobsPerBrowser', async () => {
    const smallPool = new ChromiumPool({ maxJobsPerBrowser: 2 });
    try {
      const first = await smallPool.newContext();
      const second = await smallPool.newContext();
      const third = await smallPool.newContext();
      const retired = first.browser();

      expect(second.browser()).toBe(retired);
      expect(third.browser()).not.toBe(retired);
      expect(retired?.isConnected()).toBe(true);

      await first.close();
      await second.close();
      await expect.poll(() => retired?.isConnected()).toBe(false);
    } finally {
      await smallPool.close();
    }
  });

  it('relaunches after a disconnect', async () => {
    const crashPool = new ChromiumPool();
    try {
      const first = await crashPool.newContext();
      const lost = first.browser();
      // Closing behind the pool's back looks to it like a crash.
      await lost?.close();

      const second = await crashPool.newContext();

      expect(second.browser()).not.toBe(lost);
      expect(second.browser()?.isConnected()).toBe(true);
    } finally {
      await crashPool.close();
    }
  });

  it('opens a spare page for the next job', async () => {
    const sparePool = new ChromiumPool();
    try {
      const first = await sparePool.newPage();
      const browser = first.context.browser();
      await first.context.close();
      await expect.poll(() => browser?.contexts().length).toBe(1);
      const [spare] = browser?.contexts() ?? [];

      const second = await sparePool.newPage();

      expect(second.context).toBe(spare);
      expect(second.context).not.toBe(first.context);
      expect(second.page.url()).toBe('about:blank');
    } finally {
      await sparePool.close();
    }
  });

  it('launches no browser while closing', async () => {
    const browsersBefore = await childBrowserCount();
    const closingPool = new ChromiumPool();
    const first = await closingPool.newPage();
    const browser = first.context.browser();

    await closingPool.close();
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(browser?.isConnected()).toBe(false);
    expect(await childBrowserCount()).toBe(browsersBefore);
  });
});
