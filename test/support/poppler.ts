import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a poppler tool on the PDF in a temp file, removed afterwards. */
async function onPdf(
  pdf: Buffer,
  tool: string,
  args: string[],
): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'boringkit-poppler-'));
  try {
    const path = join(directory, 'input.pdf');
    await writeFile(path, pdf);
    const { stdout } = await run(tool, [path, ...args]);
    return stdout;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Page count as poppler's pdfinfo reads it. */
export async function pdfPageCount(pdf: Buffer): Promise<number> {
  const stdout = await onPdf(pdf, 'pdfinfo', []);
  return Number(/^Pages:\s+(\d+)/m.exec(stdout)?.[1]);
}

/** Text as poppler's pdftotext extracts it. */
export async function pdfText(pdf: Buffer): Promise<string> {
  return onPdf(pdf, 'pdftotext', ['-']);
}
