import type { oas31 } from 'zod-openapi';
import type { OpenApiDocument } from './document.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options'] as const;

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1d1d1f; }
nav { position: fixed; top: 0; bottom: 0; width: 17rem; overflow: auto;
  padding: 1rem; background: #f5f5f7; box-sizing: border-box; }
nav a { display: block; color: inherit; text-decoration: none;
  font-size: 13px; padding: 2px 0; }
main { margin-left: 17rem; padding: 1rem 2rem; max-width: 60rem; }
section.operation { border-top: 1px solid #ddd; padding: 1rem 0; }
.method { display: inline-block; min-width: 3.5rem; font-weight: 600;
  text-transform: uppercase; font-family: ui-monospace, monospace; }
code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f5f5f7; padding: 0.75rem; overflow: auto; }
table { border-collapse: collapse; margin: 0.5rem 0; }
td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left;
  vertical-align: top; }
`;

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Renders plain text with `code` spans, paragraphs and Markdown tables. */
function renderText(text: string | undefined): string {
  if (!text) return '';
  return text
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((line) => line.startsWith('|'))) {
        const rows = lines
          .filter((line) => !/^\|[\s|-]+\|$/.test(line))
          .map((line) => line.slice(1, -1).split('|'));
        // The first row of a Markdown table is its header.
        const cells = rows.map((row, index) => {
          const tag = index === 0 ? 'th' : 'td';
          const html = row.map(
            (cell) => `<${tag}>${inline(cell.trim())}</${tag}>`,
          );
          return `<tr>${html.join('')}</tr>`;
        });
        return `<table>${cells.join('')}</table>`;
      }
      return `<p>${inline(block)}</p>`;
    })
    .join('\n');
}

function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function anchor(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^\w.-]/g, '_')}`;
}

/** Pretty-prints a schema, turning each component $ref into a link. */
function renderSchema(schema: unknown): string {
  const json = escapeHtml(JSON.stringify(schema, null, 2) ?? '');
  return `<pre>${json.replace(
    /&quot;#\/components\/schemas\/([\w.-]+)&quot;/g,
    (_match, name: string) =>
      `<a href="#${anchor('schema', name)}">&quot;#/components/schemas/${name}&quot;</a>`,
  )}</pre>`;
}

function renderContent(content: oas31.ContentObject | undefined): string {
  if (!content) return '';
  return Object.entries(content)
    .map(
      ([mediaType, media]) =>
        `<p><code>${escapeHtml(mediaType)}</code></p>` +
        (media.schema ? renderSchema(media.schema) : ''),
    )
    .join('');
}

function renderParameters(
  parameters: oas31.OperationObject['parameters'],
): string {
  const rows = (parameters ?? [])
    .filter((parameter) => 'name' in parameter)
    .map((parameter) => {
      const {
        name,
        in: location,
        required,
        description,
        schema,
      } = parameter as oas31.ParameterObject;
      return (
        `<tr><td><code>${escapeHtml(name)}</code></td>` +
        `<td>${location}</td><td>${required ? 'yes' : 'no'}</td>` +
        `<td>${inline(description ?? '')}</td>` +
        `<td><code>${escapeHtml(JSON.stringify(schema ?? {}))}</code></td></tr>`
      );
    });
  if (rows.length === 0) return '';
  return (
    '<h4>Parameters</h4><table><tr><th>name</th><th>in</th>' +
    '<th>required</th><th>description</th><th>schema</th></tr>' +
    `${rows.join('')}</table>`
  );
}

function renderResponses(responses: oas31.ResponsesObject): string {
  return Object.entries(responses)
    .map(([status, response]) => {
      const { description, headers, content } =
        response as oas31.ResponseObject;
      const headerList = Object.entries(headers ?? {})
        .map(([name, header]) => {
          const text = (header as oas31.HeaderObject).description ?? '';
          return `<li><code>${escapeHtml(name)}</code> ${inline(text)}</li>`;
        })
        .join('');
      return (
        `<details><summary><strong>${status}</strong> ` +
        `${inline(description)}</summary>` +
        (headerList ? `<p>Headers:</p><ul>${headerList}</ul>` : '') +
        `${renderContent(content)}</details>`
      );
    })
    .join('');
}

interface Operation {
  method: string;
  path: string;
  operation: oas31.OperationObject;
}

function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ method, path, operation }] : [];
    }),
  );
}

function renderOperation(
  { method, path, operation }: Operation,
  document: OpenApiDocument,
): string {
  const id = anchor('operation', operation.operationId ?? `${method}${path}`);
  const security = operation.security ?? document.security ?? [];
  const widgetToken = security.some((scheme) => 'widgetToken' in scheme);
  const auth =
    security.length === 0
      ? 'No API key needed.'
      : widgetToken
        ? 'Needs <code>Authorization: Bearer &lt;key&gt;</code> with an API ' +
          'key or a widget token.'
        : 'Needs <code>Authorization: Bearer &lt;key&gt;</code> with an API ' +
          'key.';
  const body = operation.requestBody as oas31.RequestBodyObject | undefined;
  return (
    `<section class="operation" id="${id}">` +
    `<h3><span class="method">${method}</span> <code>${escapeHtml(path)}</code></h3>` +
    `<p><strong>${inline(operation.summary ?? '')}</strong></p>` +
    renderText(operation.description) +
    `<p>${auth}</p>` +
    renderParameters(operation.parameters) +
    (body ? `<h4>Request body</h4>${renderContent(body.content)}` : '') +
    `<h4>Responses</h4>${renderResponses(operation.responses ?? {})}` +
    '</section>'
  );
}

/**
 * Renders the document as one self-contained HTML page: inline styles, no
 * scripts, and links only within the page and to the JSON document.
 */
export function renderReferencePage(
  document: OpenApiDocument,
  documentPath: string,
): string {
  const operations = operationsOf(document);
  const tags = (document.tags ?? []).map((tag) => tag.name);
  const nav = tags
    .map((tag) => {
      const links = operations
        .filter(({ operation }) => operation.tags?.includes(tag))
        .map(({ method, path, operation }) => {
          const id = anchor(
            'operation',
            operation.operationId ?? `${method}${path}`,
          );
          return `<a href="#${id}">${method.toUpperCase()} ${escapeHtml(path)}</a>`;
        });
      return `<h4>${escapeHtml(tag)}</h4>${links.join('')}`;
    })
    .join('');
  const sections = tags.map((tag) => {
    const tagged = operations.filter(({ operation }) =>
      operation.tags?.includes(tag),
    );
    return (
      `<h2>${escapeHtml(tag)}</h2>` +
      tagged.map((operation) => renderOperation(operation, document)).join('')
    );
  });
  const schemas = Object.entries(document.components?.schemas ?? {}).map(
    ([name, schema]) =>
      `<h3 id="${anchor('schema', name)}"><code>${escapeHtml(name)}</code></h3>` +
      renderSchema(schema),
  );
  const title = escapeHtml(document.info.title);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<nav><strong>${title}</strong>${nav}<h4><a href="#schemas">Schemas</a></h4></nav>
<main>
<h1>${title} <small>${escapeHtml(document.info.version)}</small></h1>
<p>OpenAPI ${escapeHtml(document.openapi)} document:
<a href="${escapeHtml(documentPath)}"><code>${escapeHtml(documentPath)}</code></a></p>
${renderText(document.info.description)}
${sections.join('\n')}
<h2 id="schemas">Schemas</h2>
${schemas.join('\n')}
</main>
</body>
</html>
`;
}
