import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.ts';
import { demoOrigins, type DemoTokenMinter } from '../demo-token.ts';

/** Settings of the widget routes: the build and the demo page's token. */
export interface WidgetRouteOptions {
  /** The directory `npm run build:widget` writes. */
  assetsDir: string;
  /** The service's public URL, known once the server listens. */
  publicUrl: () => string;
  /**
   * Mints the widget token the demo page embeds for visitors on this
   * machine, or is undefined when the page embeds none (API keys are
   * configured, so there is no development workspace).
   */
  mintDemoToken: DemoTokenMinter | undefined;
}

interface CachedAsset {
  mtimeMs: number;
  body: Buffer;
  etag: string;
}

interface Asset {
  file: string;
  contentType: string;
}

/** Built files the service serves, by URL path. */
const ASSETS: Record<string, Asset> = {
  '/widget/boringkit-job.js': {
    file: 'boringkit-job.js',
    contentType: 'text/javascript; charset=utf-8',
  },
  '/widget/boringkit-job.js.map': {
    file: 'boringkit-job.js.map',
    contentType: 'application/json; charset=utf-8',
  },
  '/widget/demo.js': {
    file: 'demo.js',
    contentType: 'text/javascript; charset=utf-8',
  },
  '/widget/demo.js.map': {
    file: 'demo.js.map',
    contentType: 'application/json; charset=utf-8',
  },
};

// The script keeps one URL across releases, so caches revalidate it with
// its ETag after five minutes instead of keeping an old build for long.
const ASSET_CACHE_CONTROL = 'public, max-age=300';
const DEMO_TOKEN_PLACEHOLDER = '{{DEMO_TOKEN}}';
const DEMO_TOKEN_EXPIRY_PLACEHOLDER = '{{DEMO_TOKEN_EXPIRES_AT}}';

function widgetNotBuilt(file: string): DomainError {
  return new DomainError(
    'WIDGET_NOT_BUILT',
    503,
    'Widget not built',
    `The widget build ${file} is missing. Run npm run build:widget, or ` +
      'restart the service, which builds it when it is missing or stale.',
  );
}

/** Reads a built file with its ETag, or throws 503 when it is missing. */
async function readAsset(
  assetsDir: string,
  file: string,
  cache: Map<string, CachedAsset>,
): Promise<CachedAsset> {
  const path = join(assetsDir, file);
  let mtimeMs: number;
  try {
    mtimeMs = (await stat(path)).mtimeMs;
  } catch {
    throw widgetNotBuilt(file);
  }
  const cached = cache.get(path);
  if (cached?.mtimeMs === mtimeMs) return cached;

  const body = await readFile(path);
  const digest = createHash('sha256').update(body).digest('base64url');
  const entry = { mtimeMs, body, etag: `"${digest.slice(0, 27)}"` };
  cache.set(path, entry);
  return entry;
}

/** Headers by which reverse proxies name the client they forward. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/**
 * Reports whether the request comes from this machine: a loopback peer
 * that is not a reverse proxy forwarding someone else's request.
 */
function isLocalVisitor(request: FastifyRequest): boolean {
  const address = request.socket.remoteAddress ?? '';
  const loopback =
    address === '::1' ||
    address.startsWith('127.') ||
    address.startsWith('::ffff:127.');
  // NOTE: a proxy on this machine that sets none of these headers still
  // looks local, and its visitors get a demo token of the development
  // workspace.
  const forwarded = FORWARDING_HEADERS.some(
    (name) => request.headers[name] !== undefined,
  );
  return loopback && !forwarded;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Serves the built `<boringkit-job>` widget under /widget/ and the demo page
 * at `/`. Neither needs an API key.
 */
export function registerWidgetRoutes(
  app: FastifyInstance,
  options: WidgetRouteOptions,
) {
  const cache = new Map<string, CachedAsset>();

  for (const [url, asset] of Object.entries(ASSETS)) {
    app.get(url, async (request: FastifyRequest, reply: FastifyReply) => {
      const { body, etag } = await readAsset(
        options.assetsDir,
        asset.file,
        cache,
      );
      reply
        .header('cache-control', ASSET_CACHE_CONTROL)
        .header('etag', etag)
        .header('x-content-type-options', 'nosniff')
        // Module scripts load with CORS, so pages on other origins can
        // import the widget only with this header.
        .header('access-control-allow-origin', '*')
        .header('cross-origin-resource-policy', 'cross-origin');
      if (request.headers['if-none-match'] === etag) {
        return reply.code(304).send();
      }
      return reply.type(asset.contentType).send(body);
    });
  }

  app.get('/', async (request, reply) => {
    const { body } = await readAsset(options.assetsDir, 'index.html', cache);
    // Only visitors on this machine get a token, so a service that listens
    // on another interface does not spend the development workspace's
    // credits for its network.
    const origins = isLocalVisitor(request)
      ? demoOrigins(request, options.publicUrl())
      : [];
    const demo =
      options.mintDemoToken && origins.length > 0
        ? await options.mintDemoToken(origins)
        : { id: '', token: '', expiresAt: '' };
    if (demo.id) {
      request.log.info(
        { tokenId: demo.id, origins },
        'demo widget token issued',
      );
    }
    const page = body
      .toString('utf8')
      .replace(DEMO_TOKEN_PLACEHOLDER, escapeAttribute(demo.token))
      .replace(DEMO_TOKEN_EXPIRY_PLACEHOLDER, escapeAttribute(demo.expiresAt));
    return reply
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(page);
  });
}
