/** Milliseconds since the epoch. Injected everywhere time matters so expiry is testable without sleeping. */
export type Clock = () => number;

/** The real time. */
export const systemClock: Clock = () => Date.now();

/** A clock for tests: starts at `startMs` and moves only when told to. */
export function manualClock(startMs = Date.UTC(2026, 0, 1)): Clock & {
  advance(ms: number): void;
  set(ms: number): void;
} {
  let now = startMs;
  const clock = (() => now) as Clock & { advance(ms: number): void; set(ms: number): void };
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (ms) => {
    now = ms;
  };
  return clock;
}
