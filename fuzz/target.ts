import type fc from 'fast-check';

/** What one input did: a label for the histogram (a status, or how the input was refused), and a problem if it broke a property. */
export interface Outcome {
  label: string;
  /** Set when the input broke a property: a 5xx, a thrown error, a malformed answer. */
  problem?: string;
  /** Extra histogram key (the HTTP target's route). */
  group?: string;
}

/** One fuzz target: what it draws, and what it does with one input. */
export interface Target<T> {
  name: string;
  arbitrary: fc.Arbitrary<T>;
  run(input: T): Promise<Outcome>;
  /** A readable form of an input, for a report of a failure. */
  describe(input: T): unknown;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** Called every so many inputs (the HTTP target re-mints its valid tokens). */
  every?: { inputs: number; run(): Promise<void> };
}
