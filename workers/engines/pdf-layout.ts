import type { TextContent } from 'pdfjs-dist/types/src/display/api.js';

/** One line of text as it sits on the page, in PDF points. */
export interface TextLine {
  text: string;
  /** Left edge and baseline, with y growing up the page. */
  x: number;
  y: number;
  /** Largest font size on the line. */
  size: number;
  /** Whether every glyph on the line uses a bold font. */
  bold: boolean;
  /** Whether a small drawn shape, a list bullet, sits just left of it. */
  bullet?: boolean;
}

/** A rectangle on the page in PDF points, with y growing up the page. */
export interface Box {
  left: number;
  bottom: number;
  right: number;
  top: number;
}

/** A unit of a page's reading order, ready for Markdown or DOCX. */
export type TextBlock =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'listItem'; ordered: boolean; marker: string; text: string };

/**
 * Joins pdf.js text items into lines. A line ends where pdf.js marks an end
 * of line (`hasEOL`) or where the baseline moves by more than half the glyph
 * height, so superscripts stay on their line.
 */
export function linesFromItems(
  items: TextContent['items'],
  isBoldFont: (fontName: string) => boolean,
): TextLine[] {
  const lines: TextLine[] = [];
  let line: TextLine | undefined;

  const finish = () => {
    if (line && line.text.trim() !== '') {
      lines.push({ ...line, text: line.text.trim() });
    }
    line = undefined;
  };

  for (const item of items) {
    if (!('str' in item)) {
      continue;
    }
    const x = Number(item.transform[4]);
    const y = Number(item.transform[5]);
    // The font size is the length of the text matrix's vertical axis.
    const size = Math.hypot(
      Number(item.transform[2]),
      Number(item.transform[3]),
    );
    const tolerance = Math.max(item.height, 1) / 2;
    if (line && Math.abs(y - line.y) > tolerance) {
      finish();
    }

    if (item.str.trim() !== '') {
      const bold = isBoldFont(item.fontName);
      if (!line) {
        line = { text: '', x, y, size, bold };
      }
      line.size = Math.max(line.size, size);
      line.bold = line.bold && bold;
    }
    if (line) {
      line.text += item.str;
    }
    if (item.hasEOL) {
      finish();
    }
  }
  finish();
  return lines;
}

/**
 * Returns the body text's font size: the size that carries the most
 * characters, rounded to half a point.
 */
export function bodyFontSize(lines: Iterable<TextLine>): number {
  const characters = new Map<number, number>();
  for (const line of lines) {
    const size = Math.round(line.size * 2) / 2;
    characters.set(size, (characters.get(size) ?? 0) + line.text.length);
  }

  let body = 0;
  let maxCharacters = -1;
  for (const [size, count] of characters) {
    if (count > maxCharacters) {
      body = size;
      maxCharacters = count;
    }
  }
  return body;
}

/**
 * Marks the lines that have a bullet shape to their left. Such a shape is
 * painted, about as wide as tall and at most 0.6 font sizes across. It ends
 * at most 2 font sizes before the text, with its middle between the
 * baseline and 0.8 font sizes above it. Chromium draws the discs, circles
 * and squares of <ul> this way: 0.3 font sizes across, 0.8 before the text
 * (measured).
 */
export function markBulletShapes(lines: TextLine[], shapes: Box[]): void {
  for (const line of lines) {
    line.bullet = shapes.some((shape) => {
      const width = shape.right - shape.left;
      const height = shape.top - shape.bottom;
      const middle = (shape.top + shape.bottom) / 2;
      const gap = line.x - shape.right;
      return (
        width > 0 &&
        height > 0 &&
        Math.max(width, height) <= line.size * 0.6 &&
        Math.max(width, height) <= Math.min(width, height) * 2 &&
        gap >= 0 &&
        gap <= line.size * 2 &&
        middle >= line.y &&
        middle <= line.y + line.size * 0.8
      );
    });
  }
}

const BULLET = /^([•◦▪‣●○■□–\-*])\s+(.*)$/u;
const NUMBERED = /^(\d{1,3}[.)])\s+(.*)$/;

/** A heading longer than this is more likely a bold paragraph. */
const MAX_BOLD_HEADING_CHARACTERS = 80;

/**
 * Heading level from the font size relative to the body size, 0 for none.
 * The ratios sit between Chromium's default h1 (2em), h2 (1.5em) and h3
 * (1.17em). A short bold line at body size is level 4.
 */
function headingLevel(line: TextLine, bodySize: number): 1 | 2 | 3 | 4 | 0 {
  const ratio = line.size / bodySize;
  if (ratio >= 1.7) {
    return 1;
  }
  if (ratio >= 1.3) {
    return 2;
  }
  if (ratio >= 1.1) {
    return 3;
  }
  const short = line.text.length <= MAX_BOLD_HEADING_CHARACTERS;
  if (line.bold && short && !/[.,;:]$/.test(line.text)) {
    return 4;
  }
  return 0;
}

function blockFromLine(line: TextLine, bodySize: number): TextBlock {
  const level = headingLevel(line, bodySize);
  if (level > 0) {
    return { kind: 'heading', level: level as 1 | 2 | 3 | 4, text: line.text };
  }

  if (line.bullet) {
    return { kind: 'listItem', ordered: false, marker: '-', text: line.text };
  }
  const bullet = BULLET.exec(line.text);
  if (bullet?.[1] && bullet[2] !== undefined) {
    return { kind: 'listItem', ordered: false, marker: '-', text: bullet[2] };
  }
  const numbered = NUMBERED.exec(line.text);
  if (numbered?.[1] && numbered[2] !== undefined) {
    const marker = numbered[1];
    return { kind: 'listItem', ordered: true, marker, text: numbered[2] };
  }
  return { kind: 'paragraph', text: line.text };
}

/**
 * A line continues the block above it when the baseline step is at most
 * this many font sizes. Chromium's line height for DejaVu Sans measured 1.17
 * font sizes, and a paragraph margin adds 1 more, so 1.5 separates the two.
 */
const MAX_LINE_STEP = 1.5;

/**
 * Groups a page's lines into headings, paragraphs and list items. A line
 * joins the block above when it is no heading or list marker itself, has
 * the same font size and follows at normal line spacing.
 */
export function blocksFromLines(
  lines: TextLine[],
  bodySize: number,
): TextBlock[] {
  const blocks: TextBlock[] = [];
  let previous: TextLine | undefined;

  for (const line of lines) {
    const block = blockFromLine(line, bodySize);
    const last = blocks.at(-1);
    const step = previous ? previous.y - line.y : -1;
    const continues =
      last !== undefined &&
      previous !== undefined &&
      Math.abs(previous.size - line.size) < 0.5 &&
      step > 0 &&
      step <= line.size * MAX_LINE_STEP &&
      continuesBlock(last, block);

    if (last && continues) {
      last.text = joinLines(last.text, line.text);
    } else {
      blocks.push(block);
    }
    previous = line;
  }
  return blocks;
}

/**
 * Returns whether a line read as `next` can continue `last`. A plain line
 * continues a paragraph or list item, and a heading line a heading of its
 * level.
 */
function continuesBlock(last: TextBlock, next: TextBlock): boolean {
  if (next.kind === 'paragraph') {
    return last.kind !== 'heading';
  }
  return (
    next.kind === 'heading' &&
    last.kind === 'heading' &&
    last.level === next.level
  );
}

/** Joins two lines of one block. A soft hyphen at the break is dropped. */
function joinLines(first: string, second: string): string {
  if (first.endsWith('\u00ad')) {
    return first.slice(0, -1) + second;
  }
  return `${first} ${second}`;
}
