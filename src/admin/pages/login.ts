import { html, layout } from '../html.ts';

/** The one refusal of every failed staff login, whatever was wrong (as Django's admin words it). */
export const LOGIN_REFUSED =
  'Please enter the correct username and password for a staff account. Note that both fields may be case-sensitive.';

export interface LoginPageOptions {
  csrf: string;
  /** The username typed, to fill the field again after a refusal (never the password). */
  username?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

/** The staff login form. */
export function loginPage(options: LoginPageOptions): string {
  const error = options.error && html`<p class="notice error" role="alert">${options.error}</p>`;
  return layout({
    title: 'Log in',
    notice: options.notice ? { kind: 'ok', text: options.notice } : undefined,
    body: html`${error}
<form class="card login" method="post" action="/admin/login">
  <input type="hidden" name="csrf" value="${options.csrf}">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${options.username ?? ''}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Log in</button>
  <p class="hint">Staff accounts only. Logging in starts a session you can see and revoke like any other.</p>
</form>`,
  });
}
