import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../openapi/document.ts';
import { renderReferencePage } from '../openapi/reference-page.ts';
import { OPENAPI_PATH, REFERENCE_PAGE_PATH } from '../openapi/service-paths.ts';

// The page has no scripts, so the policy allows none. This is a defence in
// case a description ever carries markup past the escaping.
const REFERENCE_PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'";

/** Serves the OpenAPI document and its rendered reference page. */
export function registerDocsRoutes(app: FastifyInstance) {
  let page: string | undefined;

  app.get(OPENAPI_PATH, async () => openApiDocument());

  app.get(REFERENCE_PAGE_PATH, async (_request, reply) => {
    page ??= renderReferencePage(openApiDocument(), OPENAPI_PATH);
    return reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', REFERENCE_PAGE_POLICY)
      .send(page);
  });
}
