import { createServer, type Server } from 'node:http';

/**
 * A static HTTP server on 127.0.0.1 that serves pages set by the test, so
 * the widget can run on an origin other than the service's.
 */
export class PageServer {
  private readonly pages = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<PageServer> {
    const server = createServer();
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    const address = server.address();
    if (!address || typeof address === 'string') {
      throw new Error('the page server has no port');
    }
    const pageServer = new PageServer(
      server,
      `http://127.0.0.1:${address.port}`,
    );
    server.on('request', (request, response) => {
      const page = pageServer.pages.get(request.url ?? '');
      response.writeHead(page === undefined ? 404 : 200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      response.end(page ?? 'not found');
    });
    return pageServer;
  }

  /** Serves `html` at `path` and returns the page's URL. */
  setPage(path: string, html: string): string {
    this.pages.set(path, html);
    return this.origin + path;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Returns a page that loads the widget script from the service and embeds
 * one `<boringkit-job id="widget">` with the given attributes, as a site
 * does in three lines.
 */
export function widgetPage(
  serviceUrl: string,
  attributes: Record<string, string>,
): string {
  const rendered = Object.entries(attributes)
    .map(([name, value]) => `${name}="${escapeAttribute(value)}"`)
    .join(' ');
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<title>Shop</title>' +
    `<script type="module" src="${serviceUrl}/widget/boringkit-job.js">` +
    '</script></head><body>' +
    `<boringkit-job id="widget" endpoint="${serviceUrl}" ${rendered}>` +
    '</boringkit-job></body></html>'
  );
}
