/** An inclusive span of 1-based page numbers. */
export interface PageSpan {
  first: number;
  last: number;
}

/**
 * Parses a page selection such as "1-3,7" into spans, in the order given.
 * Returns an error message instead when a span is empty or starts at 0. The
 * upper bound is checked against the document later.
 */
export function parsePageRange(range: string): PageSpan[] | string {
  const spans: PageSpan[] = [];
  for (const part of range.split(',')) {
    const [firstText, lastText = firstText] = part.split('-');
    const first = Number(firstText);
    const last = Number(lastText);
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) {
      return `Invalid page range "${part}": use numbers such as "1-3,7".`;
    }
    if (first < 1) {
      return `Invalid page range "${part}": pages are numbered from 1.`;
    }
    if (first > last) {
      return `Invalid page range "${part}": the first page is after the last.`;
    }
    spans.push({ first, last });
  }
  return spans;
}

/**
 * Expands spans into sorted, distinct page numbers, all within `pageCount`.
 * Returns an error message instead when a span ends after the last page.
 */
export function selectPages(
  spans: PageSpan[] | undefined,
  pageCount: number,
): number[] | string {
  if (!spans) {
    return Array.from({ length: pageCount }, (_, index) => index + 1);
  }

  const pages = new Set<number>();
  for (const { first, last } of spans) {
    if (last > pageCount) {
      const span = first === last ? `${first}` : `${first}-${last}`;
      return (
        `Invalid page range "${span}": the PDF has ${pageCount} ` +
        `page${pageCount === 1 ? '' : 's'}.`
      );
    }
    for (let page = first; page <= last; page++) {
      pages.add(page);
    }
  }
  return [...pages].sort((a, b) => a - b);
}
