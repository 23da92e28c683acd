import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RevocationBus } from '../../src/bus/bus.ts';
import { openBus } from '../../src/bus/open.ts';
import type { RevocationEntry } from '../../src/store/records.ts';
import { eventually } from '../support/processes.ts';
import { TEST_POSTGRES_URL, postgresReachable } from '../support/postgres-schema.ts';
import { redisReachable } from '../support/services.ts';

/**
 * The bus conformance suite: the same behaviour over every bus — in process, Redis pub/sub and
 * PostgreSQL LISTEN/NOTIFY. A bus whose server cannot be reached is reported and skipped, or fails the
 * run under REVOCABLE_REQUIRE_STORES=1.
 */

const REDIS = process.env.REVOCABLE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.REVOCABLE_REQUIRE_STORES === '1';

const buses = [
  { name: 'memory', url: 'memory', reachable: true },
  { name: 'redis', url: REDIS, reachable: await redisReachable(REDIS) },
  { name: 'postgres-notify', url: TEST_POSTGRES_URL, reachable: await postgresReachable() },
];
for (const bus of buses) if (!bus.reachable) console.warn(`bus conformance: ${bus.name} NOT REACHABLE at ${bus.url} — skipped`);
console.warn(`bus conformance: ran on ${buses.filter((bus) => bus.reachable).map((bus) => bus.name).join(', ')}`);

const silent = { error() {}, warn() {} };
const entries = (count: number, prefix: string): RevocationEntry[] =>
  Array.from({ length: count }, (_, i) => ({
    seq: i + 1,
    kind: i % 3 === 0 ? 'user' : i % 3 === 1 ? 'session' : 'token',
    subject: `${prefix}-${i}`,
    userId: String(i),
    atMs: 1_000 + i,
    expiresAtMs: 2_000 + i,
    ...(i % 3 === 0 ? { generation: i + 1 } : {}),
  })) as RevocationEntry[];

for (const bus of buses) {
  describe(`bus conformance: ${bus.name}`, () => {
    if (required && !bus.reachable) {
      it('is reachable (REVOCABLE_REQUIRE_STORES=1)', () => expect(bus.reachable).toBe(true));
      return;
    }
    const open = (channel: string) => openBus(bus.url, { logger: silent, channel });

    it.skipIf(!bus.reachable)('delivers what one instance publishes to every instance on the channel, and nothing across channels', async () => {
      const channel = `t${randomBytes(5).toString('hex')}`;
      const [a, b, c, elsewhere] = await Promise.all([open(channel), open(channel), open(channel), open(`${channel}x`)]);
      const received = new Map<RevocationBus, RevocationEntry[]>([
        [a, []],
        [b, []],
        [c, []],
        [elsewhere, []],
      ]);
      for (const [instance, list] of received) await instance.start((arrived) => list.push(...arrived), () => {});
      const sent = entries(300, channel);
      await a.publish(sent);
      expect(await eventually(() => [a, b, c].every((instance) => received.get(instance)!.length === sent.length), 15_000)).toBe(true);
      expect(received.get(b)).toEqual(sent);
      expect(received.get(c)).toEqual(sent);
      expect(received.get(a)).toEqual(sent);
      expect(received.get(elsewhere)).toEqual([]);
      await Promise.all([a, b, c, elsewhere].map((instance) => instance.close()));
    });

    it.skipIf(!bus.reachable)('publishing nothing, or after close, neither throws nor delivers', async () => {
      const channel = `t${randomBytes(5).toString('hex')}`;
      const [a, b] = await Promise.all([open(channel), open(channel)]);
      const received: RevocationEntry[] = [];
      await b.start((arrived) => received.push(...arrived), () => {});
      await a.start(() => {}, () => {});
      await a.publish([]);
      await b.close();
      await a.publish(entries(3, channel));
      await a.close();
      await a.publish(entries(3, channel));
      expect(received).toEqual([]);
    });
  });
}
