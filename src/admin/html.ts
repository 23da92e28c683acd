/**
 * HTML for the admin pages: one tagged template that escapes every interpolated value, and the page
 * layout. Nothing reaches a page unescaped unless it is an {@link Html} built by this template itself.
 */

/** A fragment of markup already made safe: what {@link html} returns, and the only thing it inserts raw. */
export class Html {
  readonly #markup: string;
  constructor(markup: string) {
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an element's content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (char) => ENTITIES[char] as string);
}

/** One interpolated value: markup stays, lists are concatenated, nothing is dropped silently but null/undefined/false. */
function render(value: unknown): string {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * The tagged template every page is written with: `` html`<td>${user.username}</td>` `` escapes the
 * username; an {@link Html} (another `html` template) is inserted as it is; arrays are joined.
 * Attribute values must be quoted in the template (the escaping covers both quote kinds).
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let markup = strings[0] ?? '';
  for (let index = 0; index < values.length; index++) markup += render(values[index]) + (strings[index + 1] ?? '');
  return new Html(markup);
}

/** A URL of the admin with its query string built from `params` (empty and undefined ones left out). */
export function adminUrl(path: string, params: Record<string, string | number | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, String(value));
  }
  const search = query.toString();
  return `/admin${path}${search ? `?${search}` : ''}`;
}

/** Who is signed in, for the header: the username and the logout form's CSRF token. */
export interface LayoutStaff {
  username: string;
  csrf: string;
}

export type NavItem = 'overview' | 'users' | 'revocations';

export interface LayoutOptions {
  title: string;
  staff?: LayoutStaff | undefined;
  nav?: NavItem | undefined;
  /** A one-line notice above the content (an action's outcome). */
  notice?: { kind: 'ok' | 'error'; text: string } | undefined;
  body: Html;
}

const NAV: { item: NavItem; label: string; path: string }[] = [
  { item: 'overview', label: 'Overview', path: '/' },
  { item: 'users', label: 'Users', path: '/users' },
  { item: 'revocations', label: 'Revocations', path: '/revocations' },
];

/** A whole page: the head (one stylesheet, no script), the header with navigation and logout, the content. */
export function layout(options: LayoutOptions): string {
  const { staff } = options;
  const header = staff
    ? html`<header class="bar">
  <a class="brand" href="/admin/">revocable admin</a>
  <nav aria-label="Admin">${NAV.map(
    (entry) =>
      html`<a href="${adminUrl(entry.path)}"${entry.item === options.nav ? html` aria-current="page"` : ''}>${entry.label}</a>`,
  )}</nav>
  <form class="logout" method="post" action="/admin/logout">
    <span class="who">Signed in as <strong>${staff.username}</strong></span>
    <input type="hidden" name="csrf" value="${staff.csrf}">
    <button type="submit" class="secondary">Log out</button>
  </form>
</header>`
    : html`<header class="bar"><span class="brand">revocable admin</span></header>`;
  const notice = options.notice && html`<p class="notice ${options.notice.kind}" role="status">${options.notice.text}</p>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} · revocable admin</title>
<link rel="stylesheet" href="/admin/static/admin.css">
</head>
<body>
${header}
<main>
<h1>${options.title}</h1>
${notice}
${options.body}
</main>
</body>
</html>
`.toString();
}
