import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { chromiumExecutablePath } from '../../workers/engines/chromium.ts';
import type { ToolRunContext } from '../../workers/tool.ts';

/** Builds a PDF from object bodies numbered from 1, with a correct xref. */
export function buildPdf(objects: string[], trailer = ''): Buffer {
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });

  const xrefOffset = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) {
    body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  }
  body +=
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${trailer}>>\n` +
    `startxref\n${xrefOffset}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A temp directory and a Chromium that prints HTML to PDF files in it. */
/**
 * Builds a PDF encrypted with random O and U keys, so the empty password
 * matches neither and a reader must ask for a password before reading.
 */
export function encryptedPdf(): Buffer {
  const hex = (bytes: number) => `<${randomBytes(bytes).toString('hex')}>`;
  return buildPdf(
    [
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [] /Count 0 >>',
      `<< /Filter /Standard /V 1 /R 2 /O ${hex(32)} /U ${hex(32)} /P -4 >>`,
    ],
    `/Encrypt 3 0 R /ID [${hex(16)} ${hex(16)}] `,
  );
}

export class PdfFixtures {
  private constructor(
    readonly root: string,
    private readonly browser: Browser,
  ) {}

  static async start(prefix: string): Promise<PdfFixtures> {
    const root = await mkdtemp(join(tmpdir(), prefix));
    const browser = await chromium.launch({
      executablePath: chromiumExecutablePath(),
      args: ['--no-sandbox'],
    });
    return new PdfFixtures(root, browser);
  }

  /** Prints `html` as an A4 PDF named `name` in the root; returns its path. */
  async htmlToPdf(name: string, html: string): Promise<string> {
    const page = await this.browser.newPage();
    const path = join(this.root, name);
    await page.setContent(html);
    await writeFile(path, await page.pdf({ format: 'A4' }));
    await page.close();
    return path;
  }

  async close(): Promise<void> {
    await this.browser.close();
    await rm(this.root, { recursive: true, force: true });
  }
}

/** A tool run's context with the controller and progress it reports to. */
export interface ToolTestRun {
  context: ToolRunContext;
  controller: AbortController;
  progress: number[];
}

/** Builds the context of one run on a PDF, with a fresh work directory. */
export async function makePdfRun(
  inputPath: string,
  workRoot: string,
  options: Record<string, unknown> = {},
): Promise<ToolTestRun> {
  const controller = new AbortController();
  const progress: number[] = [];
  const context: ToolRunContext = {
    jobId: 'job_test',
    attempt: 1,
    input: {
      kind: 'file',
      name: 'report.pdf',
      contentType: 'application/pdf',
      sizeBytes: 0,
    },
    inputPath,
    options,
    workDir: await mkdtemp(join(workRoot, 'work-')),
    signal: controller.signal,
    reportProgress: (value) => progress.push(value),
    logger: pino({ level: 'silent' }),
  };
  return { context, controller, progress };
}
