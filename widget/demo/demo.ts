/**
 * The demo page's script: it lists the catalog through the public API and
 * puts one `<boringkit-job>` per available tool on the page. `?tool=SLUG`
 * shows that tool alone. The service embeds a widget token in the page for
 * visitors on its own machine.
 */

interface CatalogTool {
  slug: string;
  title: string;
  description: string;
  apiJobCreation: 'available' | 'unavailable';
  unavailableReason?: string;
}

const EVENT_TYPES = [
  'created',
  'progress',
  'succeeded',
  'failed',
  'canceled',
  'error',
];
const MAX_LOGGED_EVENTS = 50;
const SAVED_TOKEN_KEY = 'boringkit-demo-token';
/** A saved token is reused while it has at least this long to live. */
const MIN_REMAINING_MS = 5 * 60 * 1000;

// The API origin, with any path prefix the page is served under.
const endpoint = new URL('.', window.location.href).href.replace(/\/$/, '');
const onlyTool = new URLSearchParams(window.location.search).get('tool');

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`The demo page has no ${selector} element.`);
  return found;
}

function setStatus(message: string): void {
  element('#demo-status').textContent = message;
}

async function loadCatalog(token: string): Promise<CatalogTool[]> {
  const response = await fetch(`${endpoint}/v1/tools`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as {
    data?: CatalogTool[];
    detail?: string;
  };
  if (!response.ok || !body.data) {
    throw new Error(
      body.detail ?? `GET /v1/tools failed with HTTP ${response.status}`,
    );
  }
  return body.data;
}

function toolCard(tool: CatalogTool, token: string): HTMLElement {
  const card = document.createElement('section');
  card.className = 'tool';
  card.setAttribute('aria-labelledby', `title-${tool.slug}`);

  const title = document.createElement('h2');
  title.id = `title-${tool.slug}`;
  const link = document.createElement('a');
  link.href = `?tool=${encodeURIComponent(tool.slug)}`;
  link.textContent = tool.title;
  title.append(link);

  const description = document.createElement('p');
  description.textContent = tool.description;

  const widget = document.createElement('boringkit-job');
  widget.id = `job-${tool.slug}`;
  widget.setAttribute('endpoint', endpoint);
  widget.setAttribute('token', token);
  widget.setAttribute('tool', tool.slug);

  card.append(title, description, widget);
  return card;
}

function showCatalog(tools: CatalogTool[], token: string): void {
  const shown = tools.filter((tool) => !onlyTool || tool.slug === onlyTool);
  const available = shown.filter((tool) => tool.apiJobCreation === 'available');
  const unavailable = shown.filter((tool) => !available.includes(tool));

  element('#tools').replaceChildren(
    ...available.map((tool) => toolCard(tool, token)),
  );
  const list = element('#unavailable-list');
  list.replaceChildren(
    ...unavailable.map((tool) => {
      const item = document.createElement('li');
      item.textContent = `${tool.title}: ${tool.unavailableReason ?? ''}`;
      return item;
    }),
  );
  element('#unavailable').hidden = unavailable.length === 0;
  setStatus(
    shown.length === 0
      ? `No tool "${onlyTool}". Remove ?tool= to see every tool.`
      : `${available.length} of ${shown.length} tools available.`,
  );
}

async function start(token: string): Promise<void> {
  const form = element<HTMLFormElement>('#token-form');
  try {
    showCatalog(await loadCatalog(token), token);
    form.hidden = true;
  } catch (error) {
    setStatus(`Loading the tools failed: ${String(error)}`);
    form.hidden = false;
  }
}

function logEvents(): void {
  const log = element('#events');
  for (const type of EVENT_TYPES) {
    document.addEventListener(`boringkit-${type}`, (event) => {
      const { job, error } = (event as CustomEvent).detail as {
        job: { id: string; status: string } | null;
        error?: { message: string };
      };
      const item = document.createElement('li');
      item.textContent = [
        new Date().toLocaleTimeString(),
        event.type,
        job ? `${job.id} ${job.status}` : '',
        error?.message ?? '',
      ].join(' ');
      log.prepend(item);
      while (log.children.length > MAX_LOGGED_EVENTS) log.lastChild?.remove();
    });
  }
}

interface SavedToken {
  endpoint: string;
  token: string;
  expiresAt: string;
}

/**
 * Returns the token of this page's session while it lives long enough, and
 * otherwise the embedded one. A widget token reaches only the jobs it
 * created, so after a reload the widgets find their jobs only with the
 * token that created them.
 */
function demoToken(embedded: string, expiresAt: string): string {
  try {
    const saved = JSON.parse(
      sessionStorage.getItem(SAVED_TOKEN_KEY) ?? 'null',
    ) as SavedToken | null;
    const remaining = saved ? Date.parse(saved.expiresAt) - Date.now() : 0;
    if (saved?.endpoint === endpoint && remaining >= MIN_REMAINING_MS) {
      return saved.token;
    }
    if (embedded) {
      const fresh: SavedToken = { endpoint, token: embedded, expiresAt };
      sessionStorage.setItem(SAVED_TOKEN_KEY, JSON.stringify(fresh));
    }
  } catch {
    // Without storage, each load uses the embedded token.
  }
  return embedded;
}

function main(): void {
  logEvents();
  const form = element<HTMLFormElement>('#token-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void start(element<HTMLInputElement>('#token-input').value.trim());
  });

  const meta = (name: string) =>
    element<HTMLMetaElement>(`meta[name="${name}"]`).content;
  const token = demoToken(
    meta('boringkit-token'),
    meta('boringkit-token-expires-at'),
  );
  if (token) {
    void start(token);
  } else {
    form.hidden = false;
    setStatus('Enter a widget token to load the tools.');
  }
}

main();
