import { z } from 'zod';

/**
 * Every event of the log, as zod schemas. Each event type has a schema
 * version stored in the event's metadata. A reader upcasts older versions
 * to the current one, so the log is never rewritten.
 */

const isoTime = z.iso.datetime();

export const jobInputSchema = z.object({
  kind: z.enum(['file', 'text']),
  name: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  options: z.record(z.string(), z.unknown()),
});
export type JobInput = z.infer<typeof jobInputSchema>;

export const jobOutputSchema = z.object({
  name: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  sha256: z.string(),
  metadata: z.record(z.string(), z.unknown()),
});
export type JobOutput = z.infer<typeof jobOutputSchema>;

export const failureSchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
});
export type JobFailure = z.infer<typeof failureSchema>;

export const eventSchemas = {
  JobCreated: z.object({
    at: isoTime,
    jobId: z.string(),
    workspaceId: z.string(),
    toolSlug: z.string(),
    input: jobInputSchema,
    maxAttempts: z.number().int().positive(),
    deadlineAt: isoTime,
    retentionSeconds: z.number().int().positive(),
    /**
     * The widget token that created the job, or null for an API key. Added
     * in version 2; version 1 events upcast to null.
     */
    widgetTokenId: z.string().nullable(),
  }),
  UploadIntentIssued: z.object({ at: isoTime, expiresAt: isoTime }),
  InputUploaded: z.object({
    at: isoTime,
    sizeBytes: z.number().int().nonnegative(),
    sha256: z.string(),
    contentType: z.string(),
  }),
  JobStarted: z.object({
    at: isoTime,
    attempt: z.number().int().positive(),
    workerId: z.string(),
    leaseExpiresAt: isoTime,
  }),
  JobProgressed: z.object({
    at: isoTime,
    attempt: z.number().int().positive(),
    progress: z.number().min(0).max(100),
    stage: z.enum(['processing', 'finalizing']),
    leaseExpiresAt: isoTime,
  }),
  AttemptFailed: z.object({
    at: isoTime,
    attempt: z.number().int().positive(),
    error: z.object({ code: z.string(), message: z.string() }),
    retryAt: isoTime,
    /**
     * True when a stopping worker gave the attempt back: it does not count
     * against `maxAttempts`. Absent in events written before it existed.
     */
    released: z.boolean().optional(),
  }),
  JobSucceeded: z.object({
    at: isoTime,
    attempt: z.number().int().positive(),
    output: jobOutputSchema,
    outputExpiresAt: isoTime,
  }),
  JobFailed: z.object({
    at: isoTime,
    attempt: z.number().int().nonnegative(),
    failure: failureSchema,
  }),
  JobCanceled: z.object({
    at: isoTime,
    previousStatus: z.enum(['queued', 'running']),
  }),
  CreditsCharged: z.object({
    at: isoTime,
    workspaceId: z.string(),
    jobId: z.string(),
    amount: z.number().int().positive(),
  }),
  CreditsRefunded: z.object({
    at: isoTime,
    workspaceId: z.string(),
    jobId: z.string(),
    amount: z.number().int().positive(),
    reason: z.string(),
  }),
  CreditsGranted: z.object({
    at: isoTime,
    workspaceId: z.string(),
    amount: z.number().int().positive(),
    reason: z.string(),
  }),
  DownloadIntentIssued: z.object({ at: isoTime, expiresAt: isoTime }),
  OutputExpired: z.object({
    at: isoTime,
    deleted: z.array(z.enum(['input', 'output'])),
  }),
  JobClosed: z.object({ at: isoTime }),
  IdempotencyKeyReserved: z.object({
    at: isoTime,
    jobId: z.string(),
    /** sha256 of the request the key was first used with. */
    fingerprint: z.string(),
  }),
  WidgetTokenIssued: z.object({
    at: isoTime,
    tokenId: z.string(),
    workspaceId: z.string(),
    /** sha256 (hex) of the token's secret part; the token itself is not kept. */
    secretSha256: z.string(),
    tools: z.array(z.string()),
    origins: z.array(z.string()),
    maxJobs: z.number().int().positive(),
    expiresAt: isoTime,
  }),
  /** One of the token's jobs, counted before the job is created. */
  WidgetTokenJobReserved: z.object({ at: isoTime, jobId: z.string() }),
  /** A reservation whose job was never created, so it counts no more. */
  WidgetTokenJobReleased: z.object({
    at: isoTime,
    jobId: z.string(),
    reason: z.string(),
  }),
} as const;

export type EventType = keyof typeof eventSchemas;

export type DomainEvent = {
  [K in EventType]: { type: K; data: z.infer<(typeof eventSchemas)[K]> };
}[EventType];

export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;

/** Current schema versions of the event types that changed; others are 1. */
const SCHEMA_VERSIONS: Partial<Record<EventType, number>> = { JobCreated: 2 };

/** Returns the schema version that writers record for an event type. */
export function schemaVersionOf(type: string): number {
  return isEventType(type) ? (SCHEMA_VERSIONS[type] ?? 1) : 1;
}

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/**
 * Upcasters by event type and the version they read: `upcasters.X[1]` turns
 * version 1 data of event X into version 2.
 */
const upcasters: Partial<Record<EventType, Record<number, Upcaster>>> = {
  // Jobs created before widget tokens existed were created with API keys.
  JobCreated: { 1: (data) => ({ ...data, widgetTokenId: null }) },
};

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventSchemas, type);
}

/**
 * Parses a stored event into a domain event, upcasting older schema
 * versions. Returns undefined for event types this code does not know.
 */
export function parseEvent(
  type: string,
  data: unknown,
  schemaVersion = 1,
): DomainEvent | undefined {
  if (!isEventType(type)) return undefined;

  let current = data as Record<string, unknown>;
  const target = schemaVersionOf(type);
  for (let version = schemaVersion; version < target; version++) {
    const upcast = upcasters[type]?.[version];
    if (!upcast) {
      throw new Error(`No upcaster for ${type} from version ${version}`);
    }
    current = upcast(current);
  }

  return { type, data: eventSchemas[type].parse(current) } as DomainEvent;
}

export const jobStream = (jobId: string) => `job-${jobId}`;
export const workspaceStream = (workspaceId: string) =>
  `workspace-${workspaceId}`;
export const idempotencyStream = (workspaceId: string, keyHash: string) =>
  `idempotency-${workspaceId}-${keyHash}`;
export const widgetTokenStream = (tokenId: string) => `widget-token-${tokenId}`;
export const JOB_STREAM_PREFIX = 'job-';
export const WORKSPACE_STREAM_PREFIX = 'workspace-';
