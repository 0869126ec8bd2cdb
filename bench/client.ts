/** The fields of a job that the benchmark reads. */
export interface Job {
  id: string;
  status: string;
  uploadIntent?: { url: string; headers: Record<string, string> };
  output: { sizeBytes: number } | null;
  failure: { code: string; message: string } | null;
}

/** One entry of `GET /v1/jobs/{id}/events`. */
export interface JobEvent {
  type: string;
  recordedAt: string;
}

/**
 * A minimal client of the public HTTP API on fetch. It sends requests only
 * to `origin`, also when following signed upload and download URLs.
 */
export class ApiClient {
  constructor(
    private readonly origin: string,
    private readonly apiKey: string,
  ) {}

  createJob(body: unknown): Promise<Job> {
    return this.requestJson('POST', '/v1/jobs', body);
  }

  getJob(id: string): Promise<Job> {
    return this.requestJson('GET', `/v1/jobs/${id}`);
  }

  async listEvents(id: string): Promise<JobEvent[]> {
    const page = await this.requestJson<{ data: JobEvent[] }>(
      'GET',
      `/v1/jobs/${id}/events`,
    );
    return page.data;
  }

  /** PUTs the input through the job's upload intent. */
  async upload(job: Job, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const intent = job.uploadIntent;
    if (!intent) throw new Error(`Job ${job.id} has no upload intent.`);
    const response = await fetch(this.checkOrigin(intent.url), {
      method: 'PUT',
      headers: intent.headers,
      body: bytes,
    });
    await readOk(response, `PUT ${intent.url}`);
  }

  /**
   * Polls the job every `intervalMs` until it succeeds. Throws when it fails
   * or is canceled, or after `timeoutMs`.
   */
  async waitForSuccess(
    id: string,
    intervalMs: number,
    timeoutMs: number,
  ): Promise<Job> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const job = await this.getJob(id);
      if (job.status === 'succeeded') return job;
      if (job.status === 'failed' || job.status === 'canceled') {
        throw new Error(
          `Job ${id} is ${job.status}: ${JSON.stringify(job.failure)}`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(`Job ${id} timed out after ${timeoutMs} ms.`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** Requests a download intent and fetches the output through it. */
  async download(id: string): Promise<Buffer> {
    const intent = await this.requestJson<{ url: string }>(
      'GET',
      `/v1/jobs/${id}/download-intent`,
    );
    const response = await fetch(this.checkOrigin(intent.url));
    return Buffer.from(await readOk(response, `GET ${intent.url}`));
  }

  private async requestJson<T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.apiKey}`,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.origin + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const bytes = await readOk(response, `${method} ${path}`);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
  }

  private checkOrigin(url: string): string {
    if (new URL(url).origin !== this.origin) {
      throw new Error(
        `Signed URL ${url} points outside the service at ${this.origin}.`,
      );
    }
    return url;
  }
}

async function readOk(
  response: Response,
  request: string,
): Promise<ArrayBuffer> {
  const bytes = await response.arrayBuffer();
  if (!response.ok) {
    const text = Buffer.from(bytes).toString('utf8');
    throw new Error(`${request} failed with ${response.status}: ${text}`);
  }
  return bytes;
}
