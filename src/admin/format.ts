/** How the admin pages write times, devices and audit actions. Times are UTC: the pages run no script. */

const pad = (value: number) => String(value).padStart(2, '0');

/** `2026-06-01 12:34 UTC`. */
export function formatTime(ms: number | Date): string {
  const date = new Date(ms);
  return (
    `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`
  );
}

/** The machine-readable form of a time, for `<time datetime>`. */
export function isoTime(ms: number | Date): string {
  return new Date(ms).toISOString();
}

/** `just now`, `5 min ago`, `3 h ago`, `2 days ago` (`in …` for the future). */
export function relativeTime(ms: number | Date, nowMs: number): string {
  const delta = nowMs - new Date(ms).getTime();
  const ahead = delta < 0;
  const seconds = Math.abs(delta) / 1000;
  const say = (amount: number, unit: string) => (ahead ? `in ${amount} ${unit}` : `${amount} ${unit} ago`);
  if (seconds < 60) return ahead ? 'in under a minute' : 'just now';
  if (seconds < 3600) return say(Math.floor(seconds / 60), 'min');
  if (seconds < 86400) return say(Math.floor(seconds / 3600), 'h');
  const days = Math.floor(seconds / 86400);
  return say(days, days === 1 ? 'day' : 'days');
}

const BROWSERS: [RegExp, string][] = [
  [/Edg\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/HeadlessChrome\//, 'Headless Chrome'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Version\/[\d.]+.*Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/python-requests|python-httpx|aiohttp/i, 'Python'],
  [/^node|undici/i, 'Node.js'],
];

const SYSTEMS: [RegExp, string][] = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

/** A short name of the browser and system a user agent string names, e.g. `Chrome on Linux`. */
export function describeDevice(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? (userAgent.length > 40 ? `${userAgent.slice(0, 40)}…` : userAgent);
}

const ACTIONS: Record<string, string> = {
  login: 'Login',
  login_failed: 'Failed login',
  user_tokens_revoked: 'Every token revoked',
  session_revoked: 'Session revoked',
  token_blacklisted: 'Token blacklisted',
  refresh_reuse_detected: 'Refresh token reuse',
  password_changed: 'Password changed',
};

/** An audit action as people read it. */
export function describeAction(action: string): string {
  return ACTIONS[action] ?? action;
}

/** A long id (session id, jti) shortened for a table cell; the whole id goes in a `title`. */
export function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}
