import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors } from 'playwright-core';
import type { z } from 'zod';
import { toolLimit, htmlToPdfOptions } from '../../domain/catalog.ts';
import type { ChromiumPool, IsolatedPage } from '../engines/chromium.ts';
import { countPdfPages } from '../engines/pdf-page-count.ts';
import {
  outputName,
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

const SLUG = 'html-to-pdf-api';

/**
 * Default upper bound for one render, from setContent to the finished PDF.
 * The job deadline, which the caller enforces through the signal, still
 * applies on top of it.
 */
const RENDER_TIMEOUT_MS = 60_000;

type HtmlToPdfOptions = z.infer<typeof htmlToPdfOptions>;

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function parseJsonPayload(text: string): string {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new InvalidInputError(
      `The JSON input is malformed (${detail}). Send {"html": "..."}.`,
    );
  }

  const html =
    typeof payload === 'object' && payload !== null && 'html' in payload
      ? payload.html
      : undefined;
  if (typeof html !== 'string') {
    throw new InvalidInputError(
      'The JSON input has no "html" string. Send {"html": "..."}.',
    );
  }
  return html;
}

/** Reads the input as UTF-8 HTML, or as the `html` field of a JSON object. */
async function readHtml(context: ToolRunContext): Promise<string> {
  // TextDecoder drops a byte order mark, which readFile(path, 'utf8') keeps.
  const text = new TextDecoder().decode(await readFile(context.inputPath));
  const type = mediaType(context.input.contentType);

  if (type === 'text/html') {
    return text;
  }
  if (type === 'application/json') {
    return parseJsonPayload(text);
  }
  throw new InvalidInputError(
    `The content type ${context.input.contentType} is not supported. Send ` +
      'text/html, or application/json with {"html": "..."}.',
  );
}

/** Throws navigation_blocked when the page tried to leave its document. */
function checkNavigations(navigations: readonly string[]): void {
  const [target] = navigations;
  if (target === undefined) {
    return;
  }
  throw new InvalidInputError(
    `The page tried to navigate to ${target.slice(0, 200)}, and ` +
      'navigation is blocked, so Chromium would print its error page. ' +
      'Remove redirects, location changes, meta refresh and form submits ' +
      'from the HTML.',
    'navigation_blocked',
  );
}

async function renderPdf(
  { page, blockedRequests, blockedNavigations }: IsolatedPage,
  html: string,
  options: HtmlToPdfOptions,
  timeoutMs: number,
): Promise<{ pdf: Buffer; blockedRequests: number }> {
  // setContent writes the HTML into about:blank, so no file: or http:
  // document is loaded.
  await page.setContent(html, {
    waitUntil: 'load',
    timeout: timeoutMs,
  });
  checkNavigations(blockedNavigations());
  let pdf: Buffer;
  try {
    pdf = await page.pdf({
      format: options.format,
      landscape: options.landscape,
      printBackground: options.printBackground,
      margin: options.margin,
    });
  } catch (error) {
    // A navigation that starts while Chromium prints fails the print.
    checkNavigations(blockedNavigations());
    if (
      error instanceof Error &&
      /content area is empty/i.test(error.message)
    ) {
      throw new InvalidInputError(
        'The margins leave no room for content on the ' +
          `${options.format} page. Use smaller margins.`,
        'invalid_options',
      );
    }
    throw error;
  }
  checkNavigations(blockedNavigations());
  return { pdf, blockedRequests: blockedRequests() };
}

/**
 * Renders `html` in a fresh context of `pool` and closes the context after.
 * An abort or the render timeout closes the context at once, which stops the
 * page's scripts.
 */
async function renderInFreshContext(
  pool: ChromiumPool,
  html: string,
  options: HtmlToPdfOptions,
  context: ToolRunContext,
  timeoutMs: number,
): Promise<{ pdf: Buffer; blockedRequests: number }> {
  const { signal } = context;
  const isolated = await pool.newPage();
  const browserContext = isolated.context;
  let timedOut = false;

  const closeContext = () =>
    browserContext.close().catch((error: unknown) => {
      context.logger.warn({ err: error }, 'Closing a Chromium context failed');
    });
  const onAbort = () => void closeContext();
  const timer = setTimeout(() => {
    timedOut = true;
    void closeContext();
  }, timeoutMs);
  signal.addEventListener('abort', onAbort, { once: true });

  try {
    signal.throwIfAborted();
    return await renderPdf(isolated, html, options, timeoutMs);
  } catch (error) {
    // Closing the context makes every pending Playwright call reject, so
    // the cause is the abort or the timeout, not that rejection.
    signal.throwIfAborted();
    // NOTE: no test crashes a renderer. The pattern matches the "Page
    // crashed" and "Target crashed" errors of Playwright 1.65.
    if (error instanceof Error && /(Page|Target) crashed/.test(error.message)) {
      throw new InvalidInputError(
        'The page crashed Chromium, most likely by using more memory than ' +
          'a renderer can hold. Reduce the scripts or the data in the page.',
        'resource_limit_exceeded',
      );
    }
    if (timedOut || error instanceof errors.TimeoutError) {
      throw new InvalidInputError(
        `Rendering did not finish within ${timeoutMs / 1000} s. Check the ` +
          'page for scripts that never end.',
        'render_timeout',
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    // The PDF is in memory, so the job need not wait for Chromium to close
    // the page. closeContext logs a failure.
    void closeContext();
  }
}

/**
 * Creates the `html-to-pdf-api` tool: renders HTML in a fresh Chromium
 * context of `pool` with the network blocked. An abort rejects with the
 * signal's reason, and a render over `renderTimeoutMs` (default 60 s) fails
 * with `render_timeout`.
 */
export function createHtmlToPdfRunner(
  pool: ChromiumPool,
  settings: { renderTimeoutMs?: number } = {},
): ToolRunner {
  const renderTimeoutMs = settings.renderTimeoutMs ?? RENDER_TIMEOUT_MS;
  const maxPages = toolLimit(SLUG, 'maxPages');

  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const options = htmlToPdfOptions.parse(context.options);
    context.signal.throwIfAborted();
    const html = await readHtml(context);

    const rendered = await renderInFreshContext(
      pool,
      html,
      options,
      context,
      renderTimeoutMs,
    );
    context.signal.throwIfAborted();

    const pages = await countPdfPages(rendered.pdf);
    if (pages === 0) {
      throw new Error('Chromium reported success but the PDF has no pages.');
    }
    if (pages > maxPages) {
      throw new InvalidInputError(
        `The page renders to ${pages} PDF pages, more than the limit of ` +
          `${maxPages}. Split the HTML into smaller documents.`,
        'page_limit_exceeded',
      );
    }

    const outputPath = join(context.workDir, 'output.pdf');
    await writeFile(outputPath, rendered.pdf);
    context.reportProgress(100);

    return {
      path: outputPath,
      name: outputName(context.input.name, '.pdf', 'document'),
      contentType: 'application/pdf',
      metadata: { pages, blockedRequests: rendered.blockedRequests },
    };
  }

  return { slug: SLUG, run };
}
