import type { ZodOpenApiPathsObject } from 'zod-openapi';

const script = { 'text/javascript': { schema: { type: 'string' as const } } };
const sourceMap = {
  'application/json': {
    schema: { type: 'object' as const, description: 'A source map.' },
  },
};
const notBuilt = {
  description:
    'WIDGET_NOT_BUILT: the build is missing. Run npm run build:widget or ' +
    'restart the service.',
  content: {
    'application/problem+json': {
      schema: { $ref: '#/components/schemas/Problem' },
    },
  },
};

function asset(
  operationId: string,
  summary: string,
  content: typeof script | typeof sourceMap,
) {
  return {
    get: {
      tags: ['Service'],
      operationId,
      summary,
      description:
        'Needs no API key. Sent with an ETag, five minutes of caching and ' +
        'Access-Control-Allow-Origin: *, so pages on any origin can load it.',
      security: [],
      responses: {
        '200': { description: 'The built file.', content },
        '304': { description: 'The cached copy with this ETag is current.' },
        '503': notBuilt,
      },
    },
  };
}

/** The widget's built files and the demo page, which are not /v1 routes. */
export const widgetPaths: ZodOpenApiPathsObject = {
  '/': {
    get: {
      tags: ['Service'],
      operationId: 'getDemoPage',
      summary: 'Open the widget demo page',
      description:
        'Needs no API key. One <boringkit-job> element per available tool. ' +
        'Visitors on the same machine get a widget token of the ' +
        'development workspace embedded, for this origin, every available ' +
        'tool, 50 jobs and one hour; nobody does when BORINGKIT_API_KEYS ' +
        'is set.',
      security: [],
      responses: {
        '200': {
          description: 'The demo page.',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
        '503': notBuilt,
      },
    },
  },
  '/widget/boringkit-job.js': asset(
    'getWidgetScript',
    'Load the <boringkit-job> widget',
    script,
  ),
  '/widget/boringkit-job.js.map': asset(
    'getWidgetSourceMap',
    "Get the widget script's source map",
    sourceMap,
  ),
  '/widget/demo.js': asset(
    'getDemoScript',
    "Load the demo page's script",
    script,
  ),
  '/widget/demo.js.map': asset(
    'getDemoSourceMap',
    "Get the demo script's source map",
    sourceMap,
  ),
};
