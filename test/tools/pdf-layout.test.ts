import { describe, expect, it } from 'vitest';
import {
  markBulletShapes,
  type Box,
  type TextLine,
} from '../../workers/engines/pdf-layout.ts';

/** Returns a 12-point line whose text starts at x 36 on baseline 700. */
function line(): TextLine {
  return { text: 'Item', x: 36, y: 700, size: 12, bold: false };
}

/** Returns a `width` by `height` box whose right edge is at `right`. */
function box(right: number, middle: number, width: number, height = width) {
  return {
    left: right - width,
    right,
    bottom: middle - height / 2,
    top: middle + height / 2,
  } satisfies Box;
}

describe('markBulletShapes', () => {
  it.each([
    ['a disc before the text', box(27, 704, 3.7), true],
    ['a shape after the text starts', box(40, 704, 3.7), false],
    ['a shape far to the left', box(6, 704, 3.7), false],
    ['a shape below the baseline', box(27, 696, 3.7), false],
    ['a box as large as a letter', box(27, 704, 10), false],
    ['a rule, long and thin', box(27, 704, 8, 0.5), false],
  ])('%s: %s', (_name, shape, expected) => {
    const lines = [line()];

    markBulletShapes(lines, [shape]);

    expect(lines[0]?.bullet).toBe(expected);
  });
});
