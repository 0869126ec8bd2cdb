import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Engine } from '../../domain/catalog.ts';
import { ChromiumPool, chromiumStatus } from '../engines/chromium.ts';
import { ffmpegStatus } from '../engines/ffmpeg.ts';
import { LibreOfficePool, libreOfficeStatus } from '../engines/libreoffice.ts';
import type { PdfThreadPool } from '../engines/pdf-thread.ts';
import { createHtmlToPdfRunner } from './html-to-pdf.ts';
import { createImageCompressRunner } from './image-compress.ts';
import {
  createSlidesToPdfRunner,
  createSpreadsheetToPdfRunner,
  createWordToPdfRunner,
} from './office-to-pdf.ts';
import { createPdfToDocxRunner } from './pdf-to-docx.ts';
import { createPdfToImagesZipRunner } from './pdf-to-images-zip.ts';
import { createPdfToMarkdownRunner } from './pdf-to-markdown.ts';
import { createPdfToTextRunner } from './pdf-to-text.ts';
import { createPdfThreadPool } from './pdf-pool.ts';
import type { EngineStatus, ToolRunner } from '../tool.ts';
import { createCompressVideoRunner } from './video-compress.ts';
import { createVideoToGifRunner } from './video-gif.ts';
import { createMuteVideoRunner } from './video-mute.ts';
import { createTrimVideoRunner } from './video-trim.ts';

const require = createRequire(import.meta.url);

/** Shared by every html-to-pdf runner of this process. */
let chromiumPool: ChromiumPool | undefined;
/** Shared by the three office runners of this process. */
let libreOfficePool: LibreOfficePool | undefined;
/** Shared by the four PDF runners of this process. */
let pdfPool: PdfThreadPool | undefined;

/**
 * Creates the runners of the implemented tools, keyed by slug. They share
 * one pool per engine per process, and `logger` receives the pools' launch
 * and crash events.
 */
export function createToolRunners(
  options: { logger?: Logger } = {},
): Map<string, ToolRunner> {
  chromiumPool ??= new ChromiumPool({ logger: options.logger });
  libreOfficePool ??= new LibreOfficePool({ logger: options.logger });
  pdfPool ??= createPdfThreadPool({ logger: options.logger });

  const runners = [
    createImageCompressRunner(),
    createHtmlToPdfRunner(chromiumPool),
    createPdfToTextRunner(pdfPool),
    createWordToPdfRunner(libreOfficePool),
    createSlidesToPdfRunner(libreOfficePool),
    createSpreadsheetToPdfRunner(libreOfficePool),
    createPdfToImagesZipRunner(pdfPool),
    createPdfToMarkdownRunner(pdfPool),
    createPdfToDocxRunner(pdfPool),
    createTrimVideoRunner(),
    createCompressVideoRunner(),
    createVideoToGifRunner(),
    createMuteVideoRunner(),
  ];
  return new Map(runners.map((runner) => [runner.slug, runner]));
}

function loadStatus(load: () => unknown, name: string): EngineStatus {
  try {
    load();
    return { available: true };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { available: false, reason: `${name} failed to load: ${detail}` };
  }
}

/**
 * Probes whether `engine` can run here. It loads sharp's native module,
 * resolves pdf.js and checks that the Chromium, ffmpeg and ffprobe
 * executables exist,
 * and that soffice and Debian's python3-uno are installed. It launches
 * nothing.
 */
export function engineStatus(engine: Engine): EngineStatus {
  switch (engine) {
    case 'sharp':
      return loadStatus(() => require('sharp'), 'sharp');
    case 'pdfjs':
      // NOTE: only resolves the module file. pdf.js is an ES module loaded
      // in worker threads, so a broken install shows up in the first job.
      return loadStatus(
        () => require.resolve('pdfjs-dist/legacy/build/pdf.mjs'),
        'pdf.js',
      );
    case 'chromium':
      return chromiumStatus();
    case 'ffmpeg':
      return ffmpegStatus();
    case 'libreoffice':
      return libreOfficeStatus();
  }
}

/** Closes the shared engine pools. Call it on shutdown, after jobs stop. */
export async function closeEngines(): Promise<void> {
  await Promise.all([
    chromiumPool?.close(),
    libreOfficePool?.close(),
    pdfPool?.close(),
  ]);
}
