import { UsageError } from './exit-codes.ts';

/**
 * Parses `--option key=value` flags into tool options. A value that is
 * JSON (a number, true, false, null, an object) is taken as JSON, any
 * other value as a string. A dotted key sets a nested option, so
 * `margin.top=10mm` sets `{ margin: { top: "10mm" } }`.
 */
export function parseToolOptions(pairs: string[]): Record<string, unknown> {
  // Objects without a prototype, so a key such as __proto__ is plain data.
  const options: Record<string, unknown> = Object.create(null);
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    const keys = pair.slice(0, Math.max(separator, 0)).split('.');
    const last = keys.pop();
    if (separator < 1 || !last || keys.includes('')) {
      throw new UsageError(
        `--option ${pair} is not key=value. Write it as --option quality=80.`,
      );
    }
    const raw = pair.slice(separator + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON, so the value stays a string.
    }

    let target = options;
    for (const key of keys) {
      const next = target[key];
      if (typeof next !== 'object' || next === null) {
        target[key] = Object.create(null);
      }
      target = target[key] as Record<string, unknown>;
    }
    target[last] = value;
  }
  return options;
}
