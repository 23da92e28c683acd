import { html, layout } from '../html.ts';
import type { StaffSession } from '../session.ts';

/** The pages that refuse: a form that failed its CSRF check, an ended session, a bad request, an error. */
export interface Refusal {
  status: number;
  title: string;
  message: string;
}

export const REFUSALS = {
  csrf: {
    status: 403,
    title: 'Request refused',
    message: 'This form was not sent by this admin session (missing or wrong security token, or another site). Go back, reload the page and try again.',
  },
  sessionEnded: {
    status: 403,
    title: 'Session ended',
    message: 'Your admin session has ended (logged out, revoked, or no longer staff). Log in again.',
  },
  badRequest: { status: 400, title: 'Bad request', message: 'The request could not be understood.' },
  notFound: { status: 404, title: 'Not found', message: 'There is no such page or user.' },
  unavailable: {
    status: 503,
    title: 'Unavailable',
    message: 'The server cannot confirm revocations right now, or its database is unreachable. Try again shortly.',
  },
  error: { status: 500, title: 'Server error', message: 'Something went wrong. The error has been logged.' },
} satisfies Record<string, Refusal>;

/** A refusal page; with the staff session, the usual header (navigation, logout), else a link to log in. */
export function refusalPage(refusal: Refusal, staff?: { session: StaffSession; csrf: string }): string {
  return layout({
    title: refusal.title,
    staff: staff && { username: staff.session.user.username, csrf: staff.csrf },
    body: html`<div class="card refusal">
<p>${refusal.message}</p>
<p><a class="button secondary" href="${staff ? '/admin/' : '/admin/login'}">${staff ? 'Back to the overview' : 'Log in'}</a></p>
</div>`,
  });
}
