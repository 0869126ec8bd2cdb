import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, parse } from 'node:path';
import { spreadsheetToPdfOptions } from '../../domain/catalog.ts';
import type {
  LibreOfficePool,
  OfficeConversion,
  OfficeDocumentKind,
} from '../engines/libreoffice.ts';
import { countPdfPages } from '../engines/pdf-page-count.ts';
import {
  outputName,
  parseToolOptions,
  InvalidInputError,
  type ToolOutput,
  type ToolRunContext,
  type ToolRunner,
} from '../tool.ts';

/** Import settings of one accepted content type. */
interface InputFormat {
  kind: OfficeDocumentKind;
  /** LibreOffice import filter, named so that no other format is guessed. */
  importFilter: string;
}

const WORD_FORMATS: Record<string, InputFormat> = {
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    kind: 'word',
    importFilter: 'MS Word 2007 XML',
  },
  'application/vnd.oasis.opendocument.text': {
    kind: 'word',
    importFilter: 'writer8',
  },
};

const SLIDES_FORMATS: Record<string, InputFormat> = {
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': {
    kind: 'slides',
    importFilter: 'Impress MS PowerPoint 2007 XML',
  },
  'application/vnd.oasis.opendocument.presentation': {
    kind: 'slides',
    importFilter: 'impress8',
  },
};

const SPREADSHEET_FORMATS: Record<string, InputFormat> = {
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
    kind: 'spreadsheet',
    importFilter: 'Calc MS Excel 2007 XML',
  },
  'application/vnd.oasis.opendocument.spreadsheet': {
    kind: 'spreadsheet',
    importFilter: 'calc8',
  },
  'text/csv': { kind: 'csv', importFilter: 'Text - txt - csv (StarCalc)' },
};

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Checks the PDF that LibreOffice wrote, which can be missing or empty. */
async function checkedPageCount(path: string): Promise<number> {
  const size = await stat(path).then(
    (stats) => stats.size,
    () => 0,
  );
  if (size === 0) {
    throw new Error('LibreOffice reported success but wrote no PDF.');
  }
  const pages = await countPdfPages(new Uint8Array(await readFile(path)));
  if (pages === 0) {
    throw new Error('LibreOffice reported success but the PDF has no pages.');
  }
  return pages;
}

/**
 * Runs of characters that the re-encoded CSV's file name replaces with `_`,
 * which are all but letters, digits, space, parentheses, `.`, `_` and `-`.
 * None of the kept ones is special in a file name or a Calc sheet name.
 */
const UNSAFE_NAME_CHARACTERS = /[^\p{L}\p{N} ()._-]+/gu;
/** 60 characters of at most 4 UTF-8 bytes fit Linux's 255-byte limit. */
const MAX_CSV_BASE_NAME_CHARACTERS = 60;

/**
 * Returns a file name for the re-encoded CSV made from the input's name.
 * For example, `Q3: EU & US.csv` becomes `Q3_ EU _ US.csv`. Calc names the
 * sheet after the file, and the PDF's page header shows the sheet name.
 */
function csvFileName(inputName: string): string {
  const safe = parse(inputName)
    .name.replace(UNSAFE_NAME_CHARACTERS, '_')
    .replace(/^[. ]+/, '');
  const base = Array.from(safe).slice(0, MAX_CSV_BASE_NAME_CHARACTERS).join('');
  return `${base || 'input'}.csv`;
}

/**
 * Writes the CSV input re-encoded as UTF-8 into the work directory and
 * returns its path. The decoding happens here because LibreOffice's CSV
 * filter takes few character set names and reads others as the system
 * encoding. Undecodable bytes become U+FFFD. The catalog schema has checked
 * that TextDecoder supports `encoding`.
 */
async function csvAsUtf8(
  context: ToolRunContext,
  encoding: string,
): Promise<string> {
  const decoder = new TextDecoder(encoding);
  const text = decoder.decode(await readFile(context.inputPath));
  const path = join(context.workDir, csvFileName(context.input.name));
  await writeFile(path, text, 'utf8');
  return path;
}

/**
 * Creates a runner that converts the input formats of `formats` to PDF
 * with `exportFilter` on a listener of `pool`.
 */
function createOfficeRunner(
  slug: string,
  pool: LibreOfficePool,
  formats: Record<string, InputFormat>,
  exportFilter: string,
): ToolRunner {
  async function run(context: ToolRunContext): Promise<ToolOutput> {
    const format = formats[mediaType(context.input.contentType)];
    if (format === undefined) {
      const accepted = Object.keys(formats).join(', ');
      throw new InvalidInputError(
        `The content type ${context.input.contentType} is not supported. ` +
          `Send one of ${accepted}.`,
      );
    }

    const conversion: OfficeConversion = {
      filter: exportFilter,
      importFilter: format.importFilter,
      kind: format.kind,
    };
    let inputPath = context.inputPath;
    if (format.kind === 'spreadsheet' || format.kind === 'csv') {
      const options = parseToolOptions(
        spreadsheetToPdfOptions,
        context.options,
      );
      conversion.options = {
        landscape: options.landscape,
        fitToWidth: options.fitToWidth,
        csvDelimiter: options.csvDelimiter,
      };
      if (format.kind === 'csv') {
        inputPath = await csvAsUtf8(context, options.csvEncoding ?? 'utf-8');
      }
    }

    const outputPath = join(context.workDir, 'output.pdf');
    await pool.convert(inputPath, outputPath, conversion, context.signal);
    context.signal.throwIfAborted();
    const pages = await checkedPageCount(outputPath);
    context.reportProgress(100);

    return {
      path: outputPath,
      name: outputName(context.input.name, '.pdf', 'document'),
      contentType: 'application/pdf',
      metadata: { pages },
    };
  }

  return { slug, run };
}

/** Creates the `word-to-pdf` tool: DOCX and ODT through LibreOffice Writer. */
export function createWordToPdfRunner(pool: LibreOfficePool): ToolRunner {
  return createOfficeRunner(
    'word-to-pdf',
    pool,
    WORD_FORMATS,
    'writer_pdf_Export',
  );
}

/** Creates the `slides-to-pdf` tool: PPTX and ODP, one page a slide. */
export function createSlidesToPdfRunner(pool: LibreOfficePool): ToolRunner {
  return createOfficeRunner(
    'slides-to-pdf',
    pool,
    SLIDES_FORMATS,
    'impress_pdf_Export',
  );
}

/**
 * Creates the `spreadsheet-to-pdf` tool: XLSX, ODS and CSV through
 * LibreOffice Calc, with the `landscape` and `fitToWidth` page setup on
 * every sheet and, for CSV, `csvDelimiter` (default ",") and `csvEncoding`
 * (default UTF-8).
 */
export function createSpreadsheetToPdfRunner(
  pool: LibreOfficePool,
): ToolRunner {
  return createOfficeRunner(
    'spreadsheet-to-pdf',
    pool,
    SPREADSHEET_FORMATS,
    'calc_pdf_Export',
  );
}
