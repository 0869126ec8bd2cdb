import {
  createDocument,
  type oas31,
  type ZodOpenApiPathsObject,
} from 'zod-openapi';
import packageJson from '../../package.json' with { type: 'json' };
import { tools } from '../../domain/catalog.ts';
import { errors } from '../../domain/errors.ts';
import { frameworkErrors, problemSchema } from '../problems.ts';
import { blobPaths } from './blob-paths.ts';
import { catalogPaths } from './catalog-paths.ts';
import { corsPaths } from './cors-paths.ts';
import { jobPaths } from './job-paths.ts';
import { servicePaths } from './service-paths.ts';
import { streamPath } from './stream-path.ts';
import { widgetPaths } from './widget-paths.ts';
import { widgetTokenPaths } from './widget-token-paths.ts';

export type OpenApiDocument = oas31.OpenAPIObject;

/** Builds a Markdown table of every problem code with its status and title. */
function problemCodeTable(): string {
  const rows = [...Object.values(errors), ...Object.values(frameworkErrors)]
    .map((factory) => factory(''))
    .sort((a, b) => a.status - b.status || a.code.localeCompare(b.code))
    .map(({ status, code, title }) => `| ${status} | \`${code}\` | ${title} |`);
  return ['| status | code | title |', '| --- | --- | --- |', ...rows].join(
    '\n',
  );
}

const DESCRIPTION = `Runs file-conversion jobs. Create a job for a tool, \
upload the input through the signed PUT URL of its uploadIntent (or send \
text inline), follow it by polling or over the WebSocket stream, and \
download the output through a signed GET URL before it expires.

Every /v1 route needs \`Authorization: Bearer <key>\`. The key decides the \
workspace, and another workspace's job is 404 as if it did not exist. \
GET /v1/openapi.json, GET /docs, GET /healthz and the signed URLs need no key.

A site's backend mints short-lived widget tokens with POST \
/v1/widget-tokens for the <boringkit-job> widget in its pages, so API keys \
never reach a browser. Operations that accept them list the widgetToken \
scheme; the others reject them with 403 \`WIDGET_TOKEN_NOT_ALLOWED\`. A \
widget token reaches only the jobs it created. Browsers on a token's \
origins may call those operations and the signed URLs of the token's jobs \
across origins (CORS); API keys get no CORS headers.

Errors are RFC 9457 problem details (application/problem+json) with a \
stable \`code\`. The \`detail\` names the bad value and the fix, and \`errors\` \
lists field problems. Each operation lists the codes it can return. An \
unknown route is 404 \`ROUTE_NOT_FOUND\`, and a request that is not valid \
HTTP is 400 \`MALFORMED_HTTP_REQUEST\`.

${problemCodeTable()}`;

/** Builds a request schema component for each tool's options. */
function toolOptionComponents() {
  return Object.fromEntries(
    tools.map((tool) => [
      `ToolOptions.${tool.slug}`,
      tool.options.meta({
        description: `input.options of ${tool.slug}.`,
        unusedIO: 'input',
      }),
    ]),
  );
}

/** Merges path objects, joining the operations of a path that repeats. */
function mergePaths(
  ...objects: ZodOpenApiPathsObject[]
): ZodOpenApiPathsObject {
  const merged: ZodOpenApiPathsObject = {};
  for (const paths of objects) {
    for (const [path, item] of Object.entries(paths)) {
      merged[path] = { ...merged[path], ...item };
    }
  }
  return merged;
}

function buildDocument(): OpenApiDocument {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'BoringKit Jobs API',
      version: packageJson.version,
      description: DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'Jobs', description: 'Create, follow and manage jobs.' },
      { name: 'Catalog', description: 'The tools and their options.' },
      { name: 'Credits', description: 'Balance and ledger.' },
      {
        name: 'Signed URLs',
        description: 'Uploads and downloads through URLs the API signs.',
      },
      {
        name: 'Widget tokens',
        description: 'Short-lived tokens for the <boringkit-job> widget.',
      },
      {
        name: 'CORS',
        description: 'Preflight responses for pages on widget token origins.',
      },
      { name: 'Service', description: 'Health and documentation.' },
    ],
    security: [{ bearerAuth: [] }],
    paths: mergePaths(
      jobPaths,
      streamPath,
      catalogPaths,
      blobPaths,
      widgetTokenPaths,
      servicePaths,
      widgetPaths,
      corsPaths,
    ),
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key of the workspace, from BORINGKIT_API_KEYS or the ' +
            'development key that the server prints at start-up.',
        },
        widgetToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A short-lived widget token from POST /v1/widget-tokens, sent ' +
            'as Authorization: Bearer <token>.',
        },
        queryToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            'The API key or widget token as a query parameter, accepted by ' +
            'the WebSocket stream only, for browsers.',
        },
      },
      schemas: {
        Problem: problemSchema,
        ...toolOptionComponents(),
      },
    },
  });
}

let document: OpenApiDocument | undefined;

/** Returns the OpenAPI 3.1 document of the API, built on first use. */
export function openApiDocument(): OpenApiDocument {
  document ??= buildDocument();
  return document;
}
