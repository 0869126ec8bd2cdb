import { isExecutable } from './executable.ts';
import type { Logger } from 'pino';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import type { EngineStatus } from '../tool.ts';

/**
 * Debian's binary, then its wrapper script. The binary comes first because
 * the wrapper prints a warning on every start.
 */
const DEFAULT_EXECUTABLES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

const LAUNCH_ARGS = [
  // NOTE: without the sandbox, a renderer exploit gets the worker's
  // privileges. Chromium refuses to start sandboxed as root, hence the flag.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--mute-audio',
  // Request routing misses WebSockets, beacons and prefetches. So every
  // request, loopback included, also goes to a proxy port where nothing
  // listens, and no host name resolves. Without the WebRTC policy flag,
  // Chromium 156 still sent STUN over UDP, and the flag's `--force-` variant
  // did not stop that.
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--host-resolver-rules=MAP * ~NOTFOUND',
];

// NOTE: renderers have no memory cap. A page that allocates large typed
// arrays can grow one renderer by gigabytes until the render timeout.

/** Settings of the fresh context that each job gets. No context is shared. */
const CONTEXT_OPTIONS: BrowserContextOptions = {
  javaScriptEnabled: true,
  // Emulated offline mode still loads data: and blob: URLs (measured).
  offline: true,
  serviceWorkers: 'block',
  acceptDownloads: false,
  permissions: [],
};

const LAUNCH_TIMEOUT_MS = 30_000;

/** A blank page in a fresh context of its own, for one untrusted document. */
export interface IsolatedPage {
  context: BrowserContext;
  page: Page;
  /** Returns how many requests and WebSockets the context has blocked. */
  blockedRequests(): number;
  /**
   * Returns the URLs the main frame tried to leave its document for. Each
   * was aborted, which shows Chromium's error page in place of the document.
   */
  blockedNavigations(): readonly string[];
}

/**
 * Aborts every request except `data:` and `blob:` URLs, and closes every
 * WebSocket. Returns a counter of what was blocked and the URLs the main
 * frame tried to navigate to. Launch flags send the rest (beacons,
 * prefetches) to a dead proxy, which this count misses.
 */
async function blockNetwork(
  browserContext: BrowserContext,
): Promise<{ count: number; navigations: string[] }> {
  const blocked = { count: 0, navigations: [] as string[] };

  await browserContext.route('**/*', async (route) => {
    const request = route.request();
    const url = request.url();
    if (request.isNavigationRequest() && !request.frame().parentFrame()) {
      blocked.navigations.push(url);
    }
    if (url.startsWith('data:') || url.startsWith('blob:')) {
      await route.continue();
      return;
    }
    blocked.count += 1;
    await route.abort('blockedbyclient');
  });
  await browserContext.routeWebSocket(/.*/, async (socket) => {
    blocked.count += 1;
    await socket.close({ code: 1008, reason: 'Network access is disabled' });
  });
  return blocked;
}

/**
 * Returns the Chromium executable to launch: `CHROMIUM_PATH` when set, else
 * the first Debian location that exists. Undefined when none is executable.
 */
export function chromiumExecutablePath(): string | undefined {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    return isExecutable(override) ? override : undefined;
  }
  return DEFAULT_EXECUTABLES.find(isExecutable);
}

/** Reports whether a Chromium executable is present, without launching it. */
export function chromiumStatus(): EngineStatus {
  if (chromiumExecutablePath() !== undefined) {
    return { available: true };
  }
  const searched = process.env.CHROMIUM_PATH ?? DEFAULT_EXECUTABLES.join(', ');
  return {
    available: false,
    reason:
      `No executable Chromium found at ${searched}. Install Debian's ` +
      'chromium package or set CHROMIUM_PATH.',
  };
}

interface PooledBrowser {
  browser: Browser;
  /** Contexts handed out over the browser's life. */
  jobs: number;
  /** Contexts handed out and not yet closed. */
  openContexts: number;
  /** Whether new contexts are refused. It closes after its last context. */
  retired: boolean;
}

/** Settings of a {@link ChromiumPool}. */
export interface ChromiumPoolOptions {
  /** Defaults to {@link chromiumExecutablePath}. */
  executablePath?: string;
  /** Contexts one browser serves before it is replaced (default 100). */
  maxJobsPerBrowser?: number;
  logger?: Logger;
}

/**
 * One Chromium process shared by jobs, each job in its own BrowserContext.
 * The browser launches on first use and is replaced after
 * `maxJobsPerBrowser` contexts or when it disconnects (a crash, for
 * example). A retired browser closes when its last context closes.
 * After a page from {@link ChromiumPool.newPage} closes, the pool opens a
 * spare one, so the next job skips the renderer's start.
 */
export class ChromiumPool {
  readonly #executablePath: string | undefined;
  readonly #maxJobsPerBrowser: number;
  readonly #logger: Logger | undefined;
  /** The browser that serves new contexts, or its pending launch. */
  #active: Promise<PooledBrowser> | undefined;
  readonly #live = new Set<PooledBrowser>();
  /** A page opened ahead for the next job, never used by an earlier one. */
  #spare: Promise<IsolatedPage> | undefined;
  /** Incremented by close(), so pages closed by it open no spare. */
  #generation = 0;

  constructor(options: ChromiumPoolOptions = {}) {
    this.#executablePath = options.executablePath;
    this.#maxJobsPerBrowser = options.maxJobsPerBrowser ?? 100;
    this.#logger = options.logger;
  }

  /**
   * Opens a fresh context for one job, launching Chromium first when no
   * browser is running. The caller must close the context when the job ends.
   */
  async newContext(): Promise<BrowserContext> {
    const pooled = await this.#acquire();
    pooled.jobs += 1;
    pooled.openContexts += 1;
    if (pooled.jobs >= this.#maxJobsPerBrowser) {
      this.#retire(pooled, 'job count reached');
    }

    let context: BrowserContext;
    try {
      context = await pooled.browser.newContext(CONTEXT_OPTIONS);
    } catch (error) {
      this.#release(pooled);
      throw error;
    }
    context.once('close', () => this.#release(pooled));
    return context;
  }

  /**
   * Returns a blank page in a fresh context with the network blocked and
   * `window.print` disabled, taking the spare page when there is one. The
   * caller must close the page's context when the job ends.
   */
  async newPage(): Promise<IsolatedPage> {
    const spare = await this.#takeSpare();
    const isolated = spare ?? (await this.#openPage());
    const generation = this.#generation;
    isolated.context.once('close', () => {
      if (generation === this.#generation) {
        this.#refillSpare();
      }
    });
    return isolated;
  }

  /** Closes every browser of the pool. A later job launches a new one. */
  async close(): Promise<void> {
    this.#generation += 1;
    const spare = this.#spare;
    this.#spare = undefined;
    await spare?.then(
      (isolated) => isolated.context.close(),
      () => undefined,
    );

    const pending = this.#active;
    this.#active = undefined;
    await pending?.catch(() => undefined);

    const browsers = [...this.#live];
    this.#live.clear();
    await Promise.all(
      browsers.map(async (pooled) => {
        pooled.retired = true;
        await pooled.browser.close();
      }),
    );
  }

  async #openPage(): Promise<IsolatedPage> {
    const context = await this.newContext();
    try {
      const blocked = await blockNetwork(context);
      // A page that calls print() on load (common in invoice templates)
      // would hold Chromium's print job, and page.pdf() would fail with
      // "Page is already being printed".
      await context.addInitScript('window.print = () => {};');
      const page = await context.newPage();
      return {
        context,
        page,
        blockedRequests: () => blocked.count,
        blockedNavigations: () => blocked.navigations,
      };
    } catch (error) {
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** Returns the spare page if it opened and its browser still runs. */
  async #takeSpare(): Promise<IsolatedPage | undefined> {
    const pending = this.#spare;
    this.#spare = undefined;
    const spare = await pending?.catch(() => undefined);
    if (spare === undefined) {
      return undefined;
    }
    if (spare.page.isClosed() || !spare.context.browser()?.isConnected()) {
      await spare.context.close().catch(() => undefined);
      return undefined;
    }
    return spare;
  }

  #refillSpare(): void {
    if (this.#spare !== undefined) {
      return;
    }
    const opening = this.#openPage();
    this.#spare = opening;
    opening.catch((error: unknown) => {
      if (this.#spare === opening) {
        this.#spare = undefined;
      }
      this.#logger?.warn(
        { err: error },
        'Opening a spare Chromium page failed',
      );
    });
  }

  #acquire(): Promise<PooledBrowser> {
    if (this.#active === undefined) {
      const launching = this.#launch();
      this.#active = launching;
      launching.catch(() => {
        if (this.#active === launching) {
          this.#active = undefined;
        }
      });
    }
    return this.#active;
  }

  async #launch(): Promise<PooledBrowser> {
    const executablePath = this.#executablePath ?? chromiumExecutablePath();
    if (executablePath === undefined) {
      throw new Error(chromiumStatus().reason);
    }

    const browser = await chromium.launch({
      executablePath,
      args: LAUNCH_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
      // Playwright's own handlers would exit the process with code 130 on
      // Ctrl-C before the service has shut down; the service closes the
      // pool itself.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const pooled: PooledBrowser = {
      browser,
      jobs: 0,
      openContexts: 0,
      retired: false,
    };
    this.#live.add(pooled);
    this.#logger?.info(
      { executablePath, version: browser.version() },
      'Chromium launched',
    );

    browser.on('disconnected', () => {
      this.#live.delete(pooled);
      if (!pooled.retired) {
        this.#logger?.error(
          { openContexts: pooled.openContexts },
          'Chromium disconnected unexpectedly; the next job launches a new one',
        );
        this.#retire(pooled, 'disconnected');
      }
    });
    return pooled;
  }

  /**
   * Marks `pooled` retired so that it takes no new contexts. A browser that
   * is not retired is always the active one, so this also clears `#active`.
   */
  #retire(pooled: PooledBrowser, reason: string): void {
    if (pooled.retired) {
      return;
    }
    pooled.retired = true;
    this.#active = undefined;
    this.#logger?.info({ jobs: pooled.jobs, reason }, 'Chromium retired');
    this.#closeIfIdle(pooled);
  }

  #release(pooled: PooledBrowser): void {
    pooled.openContexts -= 1;
    this.#closeIfIdle(pooled);
  }

  #closeIfIdle(pooled: PooledBrowser): void {
    if (!pooled.retired || pooled.openContexts > 0) {
      return;
    }
    if (!pooled.browser.isConnected()) {
      return;
    }
    pooled.browser.close().catch((error: unknown) => {
      this.#logger?.error({ err: error }, 'Closing a retired Chromium failed');
    });
  }
}
