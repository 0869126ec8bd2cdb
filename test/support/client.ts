import { KEY_A } from './service.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

// Loose on purpose: tests assert on the fields they read.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Json;
}

/** A small client for the public HTTP API, as any HTTP client sees it. */
export class Client {
  constructor(
    readonly url: string,
    readonly key: string = KEY_A,
  ) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const response = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Json = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Non-JSON bodies stay text.
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  createJob(body: unknown, idempotencyKey?: string) {
    return this.request(
      'POST',
      '/v1/jobs',
      body,
      idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    );
  }

  getJob(id: string) {
    return this.request('GET', `/v1/jobs/${id}`);
  }

  async upload(job: Json, bytes: Buffer, contentType?: string) {
    const response = await fetch(job.uploadIntent.url, {
      method: 'PUT',
      headers: {
        'content-type': contentType ?? job.uploadIntent.headers['Content-Type'],
      },
      body: new Uint8Array(bytes),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text ? JSON.parse(text) : undefined,
    };
  }

  /** Polls the job until its status is one of `statuses`. */
  async waitForStatus(
    id: string,
    statuses: string[],
    timeoutMs = 60_000,
  ): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await this.getJob(id);
      if (statuses.includes(body.status)) return body;
      if (Date.now() > deadline) {
        throw new Error(
          `job ${id} still ${body.status}/${body.stage}, wanted ${statuses.join('|')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async download(id: string): Promise<{ bytes: Buffer; response: Response }> {
    const intent = await this.request('GET', `/v1/jobs/${id}/download-intent`);
    if (intent.status !== 200)
      throw new Error(`download intent: ${JSON.stringify(intent.body)}`);
    const response = await fetch(intent.body.url);
    return { bytes: Buffer.from(await response.arrayBuffer()), response };
  }
}
