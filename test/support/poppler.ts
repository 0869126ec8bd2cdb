import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function toFile(pdf: Buffer): Promise<string> {
  const path = join(
    tmpdir(),
    `boringkit-${process.pid}-${Date.now()}-${Math.random()}.pdf`,
  );
  await writeFile(path, pdf);
  return path;
}

/** Page count as poppler's pdfinfo reads it. */
export async function pdfPageCount(pdf: Buffer): Promise<number> {
  const { stdout } = await run('pdfinfo', [await toFile(pdf)]);
  return Number(/^Pages:\s+(\d+)/m.exec(stdout)?.[1]);
}

/** Text as poppler's pdftotext extracts it. */
export async function pdfText(pdf: Buffer): Promise<string> {
  const { stdout } = await run('pdftotext', [await toFile(pdf), '-']);
  return stdout;
}
