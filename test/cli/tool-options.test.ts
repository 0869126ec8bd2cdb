import { describe, expect, it } from 'vitest';
import { parseToolOptions } from '../../bin/cli/tool-options.ts';
import { UsageError } from '../../bin/cli/exit-codes.ts';

describe('parseToolOptions', () => {
  it('reads JSON values', () => {
    const options = parseToolOptions(['quality=75', 'landscape=true']);
    expect(options.quality).toBe(75);
    expect(options.landscape).toBe(true);
  });

  it('keeps other values as strings', () => {
    const options = parseToolOptions(['background=#ff0000', 'pages=1-3']);
    expect(options.background).toBe('#ff0000');
    expect(options.pages).toBe('1-3');
  });

  it('nests dotted keys', () => {
    const options = parseToolOptions(['margin.top=10mm', 'margin.left=5mm']);
    expect(JSON.parse(JSON.stringify(options))).toEqual({
      margin: { top: '10mm', left: '5mm' },
    });
  });

  it('rejects a pair without a key', () => {
    expect(() => parseToolOptions(['=5'])).toThrow(UsageError);
    expect(() => parseToolOptions(['quality'])).toThrow(UsageError);
    expect(() => parseToolOptions(['margin..top=1mm'])).toThrow(UsageError);
  });
});
