import { createDocument, type oas31 } from 'zod-openapi';
import packageJson from '../../package.json' with { type: 'json' };
import { tools } from '../../domain/catalog.ts';
import { errors } from '../../domain/errors.ts';
import { frameworkErrors, problemSchema } from '../problems.ts';
import { blobPaths } from './blob-paths.ts';
import { catalogPaths } from './catalog-paths.ts';
import { jobPaths } from './job-paths.ts';
import { servicePaths } from './service-paths.ts';
import { streamPath } from './stream-path.ts';
import { widgetPaths } from './widget-paths.ts';

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
      { name: 'Service', description: 'Health and documentation.' },
    ],
    security: [{ bearerAuth: [] }],
    paths: {
      ...jobPaths,
      ...streamPath,
      ...catalogPaths,
      ...blobPaths,
      ...servicePaths,
      ...widgetPaths,
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key of the workspace, from BORINGKIT_API_KEYS or the ' +
            'development key that the server prints at start-up.',
        },
        queryToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            'The API key as a query parameter, accepted by the WebSocket ' +
            'stream only, for browsers.',
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
