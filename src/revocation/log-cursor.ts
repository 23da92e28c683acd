/** A gap is given up after this long and this many successful reads that did not fill it. */
const GAP_GIVE_UP_MS = 120_000;
const GAP_GIVE_UP_READS = 40;
/** Gaps remembered at most; the oldest are given up first. */
const MAX_GAPS = 5000;

/**
 * Where the log poll stands. Sequence numbers are handed out when a row is inserted, and on PostgreSQL
 * and MySQL a transaction can commit after another that took a higher number: skipping past a number not
 * yet seen could skip a revocation for good. So the cursor remembers the numbers below the highest one
 * it has seen that it has not seen (gaps), and asks for them again on every read until they arrive.
 * A gap that never fills (a rolled-back insert) is given up after two minutes and 40 successful reads,
 * counted on this process's clock, so neither a writer's clock nor an outage of this reader eats into it.
 */
export class LogCursor {
  private highest = 0;
  private readonly gaps = new Map<number, { since: number; reads: number }>();

  /** What the next read asks for: entries after `afterSeq`, and the `missing` ones. */
  request(): { afterSeq: number; missing: number[] } {
    return { afterSeq: this.highest, missing: [...this.gaps.keys()] };
  }

  get openGaps(): number {
    return this.gaps.size;
  }

  /**
   * Records the sequence numbers one successful read returned. The first read (the start-up load) only
   * sets the starting point: its holes are expired entries, not late commits.
   */
  advance(seqs: number[], nowMs: number, initial = false): void {
    for (const seq of seqs) this.gaps.delete(seq);
    for (const gap of this.gaps.values()) gap.reads++;
    for (const [seq, gap] of this.gaps) {
      if (gap.reads >= GAP_GIVE_UP_READS && nowMs - gap.since >= GAP_GIVE_UP_MS) this.gaps.delete(seq);
    }
    const arrived = new Set(seqs);
    const top = seqs.reduce((max, seq) => Math.max(max, seq), this.highest);
    if (!initial) {
      // A jump larger than the gaps kept (a sequence that skipped ahead) is not a list of late commits.
      for (let seq = Math.max(this.highest + 1, top - MAX_GAPS); seq < top; seq++) {
        if (!arrived.has(seq)) this.gaps.set(seq, { since: nowMs, reads: 0 });
      }
      while (this.gaps.size > MAX_GAPS) this.gaps.delete(this.gaps.keys().next().value as number);
    }
    this.highest = top;
  }
}
