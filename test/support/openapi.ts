import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import type { Json } from './client.ts';

/** Headers every HTTP response may carry, which need no documentation. */
const TRANSPORT_HEADERS = new Set([
  'connection',
  'content-length',
  'content-type',
  'date',
  'keep-alive',
  'transfer-encoding',
]);

export interface LiveResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Checks live responses against an OpenAPI document: the status is listed
 * for the operation, the media type is declared, the body validates against
 * the documented schema, and every header beyond the transport ones is
 * documented.
 */
export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: Json) {
    addFormats.default(this.ajv);
  }

  /** Compiles a schema of the document, resolving its component refs. */
  compile(schema: Json): ValidateFunction {
    return this.ajv.compile({
      ...schema,
      components: this.document.components,
    });
  }

  responseOf(method: string, path: string, status: number): Json {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    expect(operation, `${method} ${path} is documented`).toBeDefined();
    const response = operation.responses[String(status)];
    expect(
      response,
      `${method} ${path} documents status ${status}`,
    ).toBeDefined();
    return response;
  }

  check(method: string, path: string, live: LiveResponse): void {
    const response = this.responseOf(method, path, live.status);
    const where = `${method} ${path} ${live.status}`;

    const documented = Object.keys(response.headers ?? {}).map((header) =>
      header.toLowerCase(),
    );
    live.headers.forEach((_value, name) => {
      if (TRANSPORT_HEADERS.has(name)) return;
      expect(documented, `${where} documents header ${name}`).toContain(name);
    });
    for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
      if (header.required) {
        expect(live.headers.has(name), `${where} sends ${name}`).toBe(true);
      }
    }

    const mediaType = (live.headers.get('content-type') ?? '')
      .split(';')[0]!
      .trim();
    const content = response.content ?? {};
    // A response without a body, such as a 204, declares no content.
    if (mediaType === '' && Object.keys(content).length === 0) return;
    const declared = content[mediaType] ?? content['*/*'];
    expect(declared, `${where} declares ${mediaType}`).toBeDefined();
    if (!declared.schema || !mediaType.endsWith('json')) return;

    const key = `${method} ${path} ${live.status} ${mediaType}`;
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.compile(declared.schema);
      this.validators.set(key, validate);
    }
    const valid = validate(live.body);
    expect(validate.errors ?? [], `${where} body matches`).toEqual([]);
    expect(valid).toBe(true);
  }
}
