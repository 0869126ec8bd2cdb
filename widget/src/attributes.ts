import { ApiError, type ToolView } from './api.ts';

/**
 * Checks the endpoint and token attributes, without which the widget sends
 * nothing. Returns what is wrong, naming the fix, or undefined.
 */
export function connectionProblem(
  endpoint: string,
  token: string,
): string | undefined {
  if (!endpoint) {
    return (
      'Set the endpoint attribute to the origin of the BoringKit Jobs ' +
      'service, such as https://jobs.example.com.'
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return (
      `The endpoint attribute "${endpoint}" is not an http or https URL. ` +
      'Set it to the service origin, such as https://jobs.example.com.'
    );
  }
  if (!token) {
    return (
      'Set the token attribute to a widget token that your backend mints ' +
      'with POST /v1/widget-tokens.'
    );
  }
  return undefined;
}

/** Parses the options attribute, which must be empty or a JSON object. */
export function parseOptions(text: string): {
  options: Record<string, unknown>;
  error?: string;
} {
  if (text.trim() === '') return { options: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      options: {},
      error:
        `The options attribute is not valid JSON (${String(error)}). Set it ` +
        'to a JSON object such as {"quality": 80}.',
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      options: {},
      error:
        `The options attribute ${text} is not a JSON object. Set it to an ` +
        'object such as {"quality": 80}.',
    };
  }
  return { options: parsed as Record<string, unknown> };
}

export const MISSING_TOOL =
  'Set the tool attribute to a tool slug, such as image-compress-api. ' +
  'GET /v1/tools lists the tools.';

/** Returns why files cannot go to `tool`, or undefined when they can. */
export function unavailableTool(tool: ToolView): string | undefined {
  if (tool.apiJobCreation === 'available') return undefined;
  return (
    `${tool.title} is unavailable on this service: ` +
    `${tool.unavailableReason ?? 'no reason given'}. Use another tool, or ` +
    'install its engine on the server.'
  );
}

/** Describes a failed GET /v1/tools/{slug} of the tool attribute. */
export function toolLoadFailure(slug: string, error: unknown): string {
  const message = error instanceof ApiError ? error.message : String(error);
  if (error instanceof ApiError && error.status === 404) {
    return `The tool attribute "${slug}" names no tool: ${message}`;
  }
  return `Loading tool "${slug}" failed: ${message}`;
}

/**
 * Sets the form value and validity of a form-associated element: the job
 * id while a job is shown, and valueMissing for a required widget without
 * one.
 */
export function syncFormValue(
  internals: ElementInternals,
  jobId: string | null,
  required: boolean,
  anchor: HTMLElement | undefined,
): void {
  internals.setFormValue(jobId, jobId);
  if (required && jobId === null) {
    internals.setValidity(
      { valueMissing: true },
      'Choose a file to convert.',
      anchor,
    );
  } else {
    internals.setValidity({});
  }
}
