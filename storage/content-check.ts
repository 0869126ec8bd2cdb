import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import { fileTypeFromFile } from 'file-type';

/** Outcome of comparing a file's bytes with the content type it declared. */
export type ContentCheckResult =
  { ok: true } | { ok: false; detected: string | undefined; reason: string };

const DOCX =
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const XLSX =
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PPTX =
  'application/vnd.openxmlformats-officedocument.presentationml.presentation';
const ODT = 'application/vnd.oasis.opendocument.text';
const ODS = 'application/vnd.oasis.opendocument.spreadsheet';
const ODP = 'application/vnd.oasis.opendocument.presentation';
const ZIP = 'application/zip';

/**
 * Binary content types, each with the file-type 21 MIME types that satisfy
 * it. APNG is PNG with extra chunks. MP4 and QuickTime share the ISO base
 * media container, which ffmpeg reads with one demuxer. A browser declares
 * the type from the file name but file-type reads the container's brand, so
 * a strict match would reject an .mp4 renamed to .mov.
 *
 * OOXML and ODF packages also pass as plain `application/zip`, because
 * file-type 21.3 reports the package type only when it can walk the local
 * headers to a part it recognizes. It cannot skip an entry whose sizes are
 * in a ZIP64 extra field, as Python's zipfile and some other writers
 * produce, or reach a part past the end of a truncated file. The office
 * tools parse every part of the package before conversion and reject a
 * damaged one.
 */
const binaryTypes: ReadonlyMap<string, readonly string[]> = new Map([
  ['image/png', ['image/png', 'image/apng']],
  ['image/jpeg', ['image/jpeg']],
  ['image/webp', ['image/webp']],
  ['application/pdf', ['application/pdf']],
  [DOCX, [DOCX, ZIP]],
  [XLSX, [XLSX, ZIP]],
  [PPTX, [PPTX, ZIP]],
  [ODT, [ODT, ZIP]],
  [ODS, [ODS, ZIP]],
  [ODP, [ODP, ZIP]],
  ['video/mp4', ['video/mp4', 'video/x-m4v', 'video/quicktime']],
  ['video/quicktime', ['video/quicktime', 'video/mp4', 'video/x-m4v']],
  ['video/webm', ['video/webm']],
]);

// NOTE: text must be UTF-8, so a CSV in another encoding fails even where a
// tool option such as `csvEncoding` names that encoding.
const textTypes: ReadonlySet<string> = new Set([
  'text/html',
  'application/json',
  'text/csv',
  'text/plain',
]);

/**
 * Document formats that can be written entirely in ASCII. file-type's match
 * on them is trusted even when the bytes are valid text, because an engine
 * would read them as documents, not as text.
 */
const textualDocumentTypes: ReadonlySet<string> = new Set([
  'application/pdf',
  'application/postscript',
  'application/rtf',
]);

/** Every content type that `checkContent` accepts as a declared type. */
export const checkedContentTypes: readonly string[] = [
  ...binaryTypes.keys(),
  ...textTypes,
];

/** Bytes read when `detectContentType` decides whether a file is text. */
const TEXT_SNIFF_BYTES = 64 * 1024;

/** Detected type of a file that starts with a UTF-16 byte order mark. */
const UTF16_TEXT = 'text/plain; charset=utf-16';

/**
 * Returns the content type that the file's bytes look like: `text/plain`
 * when the first 64 KiB are UTF-8 text without NUL bytes,
 * `text/plain; charset=utf-16` after a UTF-16 byte order mark, else
 * file-type's MIME type, or undefined (also for an empty file).
 *
 * A file-type match outranks the text check only for text formats and
 * `textualDocumentTypes`, because some of its signatures are plain letters.
 * For example, file-type 21.3 reads a CSV that starts with `BMW,` as
 * image/bmp, and a UTF-16 byte order mark as an MP3 frame header.
 */
export async function detectContentType(
  filePath: string,
): Promise<string | undefined> {
  const detected = (await fileTypeFromFile(filePath))?.mime;
  if (detected !== undefined && isTrustedOnText(detected)) return detected;

  const text = await scanText(filePath, { maxBytes: TEXT_SNIFF_BYTES });
  if (text.ok && text.bytesRead > 0) return 'text/plain';
  if (!text.ok && text.utf16) return UTF16_TEXT;
  return detected;
}

/**
 * Checks that the file's bytes are of the `declared` content type (MIME
 * parameters such as `; charset=utf-8` are ignored). Binary types must be
 * detected by file-type. Text types must be valid UTF-8 without NUL bytes,
 * and file-type must not detect a document format such as PDF in them.
 * `application/json` must also parse. An empty file always fails.
 *
 * @throws Error when `declared` is not one of `checkedContentTypes`.
 */
export async function checkContent(
  filePath: string,
  declared: string,
): Promise<ContentCheckResult> {
  const type = declared.split(';')[0]?.trim().toLowerCase() ?? '';
  const accepted = binaryTypes.get(type);
  if (accepted === undefined && !textTypes.has(type)) {
    throw new Error(
      `No content check exists for ${declared}; ` +
        `checked types are ${checkedContentTypes.join(', ')}`,
    );
  }

  if ((await stat(filePath)).size === 0) {
    return { ok: false, detected: undefined, reason: 'file is empty' };
  }

  if (accepted !== undefined) {
    const detected = await detectContentType(filePath);
    if (detected !== undefined && accepted.includes(detected)) {
      return { ok: true };
    }
    return mismatch(detected, type);
  }

  return checkText(filePath, type);
}

async function checkText(
  filePath: string,
  type: string,
): Promise<ContentCheckResult> {
  const detected = (await fileTypeFromFile(filePath))?.mime;
  if (detected !== undefined && textualDocumentTypes.has(detected)) {
    return mismatch(detected, type);
  }

  const isJson = type === 'application/json';
  const text = await scanText(filePath, { keepText: isJson });
  // CSV may come in a legacy single-byte encoding, which the tool's
  // csvEncoding option names; NUL bytes and binary formats are still refused.
  const legacyCsv = !text.ok && type === 'text/csv' && text.notUtf8 === true;
  if (!text.ok && !legacyCsv) {
    if (detected !== undefined && !text.utf16) {
      return mismatch(detected, type);
    }
    return {
      ok: false,
      detected: text.utf16 ? UTF16_TEXT : undefined,
      reason: `${text.problem}, so they are not ${type}; save the file as UTF-8`,
    };
  }

  if (isJson && text.ok) {
    try {
      JSON.parse(text.text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        detected: 'text/plain',
        reason: `bytes are not valid JSON: ${message}`,
      };
    }
  }
  return { ok: true };
}

function mismatch(
  detected: string | undefined,
  type: string,
): ContentCheckResult {
  const looksLike = detected ?? 'no known content type';
  return {
    ok: false,
    detected,
    reason: `bytes look like ${looksLike}, not ${type}`,
  };
}

function isTrustedOnText(mime: string): boolean {
  return (
    mime.startsWith('text/') ||
    mime === 'application/xml' ||
    textualDocumentTypes.has(mime)
  );
}

type TextScan =
  | { ok: true; text: string; bytesRead: number }
  | { ok: false; problem: string; utf16: boolean; notUtf8?: boolean };

/**
 * Streams the file through a fatal UTF-8 decoder and looks for NUL bytes.
 * With `maxBytes`, only that prefix is read and a multi-byte character cut
 * at its end is not an error. `text` is filled only with `keepText`.
 */
async function scanText(
  filePath: string,
  options: { maxBytes?: number; keepText?: boolean },
): Promise<TextScan> {
  const { maxBytes, keepText = false } = options;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stream = createReadStream(filePath, {
    end: maxBytes === undefined ? undefined : maxBytes - 1,
  });

  let text = '';
  let offset = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (offset === 0 && startsWithUtf16Bom(chunk)) {
        return { ok: false, problem: 'bytes are UTF-16 text', utf16: true };
      }

      const nul = chunk.indexOf(0);
      if (nul !== -1) {
        return {
          ok: false,
          problem: `bytes contain a NUL byte at offset ${offset + nul}`,
          utf16: false,
        };
      }

      const decoded = decodeOrUndefined(decoder, chunk);
      if (decoded === undefined) {
        return {
          ok: false,
          problem: 'bytes are not valid UTF-8',
          utf16: false,
          notUtf8: true,
        };
      }
      if (keepText) text += decoded;
      offset += chunk.byteLength;
    }
  } finally {
    stream.destroy();
  }

  if (maxBytes === undefined) {
    // Flushing reports a multi-byte character cut off at the end of the file.
    const tail = decodeOrUndefined(decoder);
    if (tail === undefined) {
      return {
        ok: false,
        problem: 'bytes end inside a UTF-8 character',
        utf16: false,
      };
    }
    text += tail;
  }
  return { ok: true, text, bytesRead: offset };
}

/** Decodes the next chunk, or flushes without one; undefined on bad UTF-8. */
function decodeOrUndefined(
  decoder: TextDecoder,
  chunk?: Buffer,
): string | undefined {
  try {
    return chunk === undefined
      ? decoder.decode()
      : decoder.decode(chunk, { stream: true });
  } catch (error) {
    // A fatal TextDecoder signals invalid input with a TypeError.
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

function startsWithUtf16Bom(chunk: Buffer): boolean {
  const [first, second] = chunk;
  return (
    (first === 0xff && second === 0xfe) || (first === 0xfe && second === 0xff)
  );
}
