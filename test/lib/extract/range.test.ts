import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { leaderConnector, parseTimestamp } from '../../../src/lib/extract/range.js';
import { parseBroker } from '../../../src/lib/kafka/protocol/connection.js';
import { readRange } from '../../../src/lib/kafka/protocol/fetch.js';
import { freshTopic, produceRaw, stackConfig } from '../../helpers.js';
import { splitRanges } from '../../../src/lib/extract/run.js';

/**
 * What a timestamp should parse to: Date.parse for an ISO 8601 time with a zone that exists, NaN
 * for the rest. Date.parse itself rolls `02-30` over into March and takes shapes like
 * `1970-01-01Z00:00:00Z`; existence is checked here by setting the fields and reading them back.
 */
function strict(s: string): number {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as number[];
  const t = new Date(0);
  t.setUTCFullYear(y as number, (mo as number) - 1, d as number);
  t.setUTCHours(h as number, mi as number, se as number, 0);
  const exists =
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === (mo as number) - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === se &&
    (m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59));
  return exists ? Date.parse(s) : NaN;
}

describe('lib/extract-range', () => {
  it('parseTimestamp parses the ISO timestamps that exist, as Date.parse does, and refuses near-misses', () => {
    for (const bad of [
      '2026-02-30T00:00:00Z',
      '2026-11-21T24:00:00Z',
      '2025-02-29T12:00:00.000Z',
      '1970-01-01Z00:00:00.000Z',
      '2026-11-21T10:60:00Z',
    ]) {
      assert.ok(Number.isNaN(parseTimestamp(bad)), bad);
    }
    assert.equal(parseTimestamp('2024-02-29T12:00:00.000Z'), Date.UTC(2024, 1, 29, 12));
    const iso = fc
      .date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
    const mutated = fc
      .tuple(iso, fc.nat(23), fc.constantFrom('0', '9', 'x', '-', ':', 'Z', '.', '+', ' '))
      .map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1));
    const short = iso.map((s) => s.replace(/\.\d{3}Z$/, 'Z'));
    fc.assert(
      fc.property(fc.oneof(iso, mutated, short), (s) => {
        assert.ok(Object.is(parseTimestamp(s), strict(s)), s);
      }),
      { numRuns: 5_000 },
    );
  });

  it('splitRanges cuts long ranges into equal parts that cover each range exactly', () => {
    const parts = splitRanges(
      [
        { partition: 1, startOffset: 10, endOffset: 510 },
        { partition: 0, startOffset: 0, endOffset: 100 },
        { partition: 2, startOffset: 5, endOffset: 5 },
      ],
      200,
    );
    assert.deepEqual(parts, [
      { partition: 0, startOffset: 0, endOffset: 100 },
      { partition: 1, startOffset: 10, endOffset: 176 },
      { partition: 1, startOffset: 176, endOffset: 343 },
      { partition: 1, startOffset: 343, endOffset: 510 },
    ]);
  });
});

describe('lib/extract-range: reading from a leader that goes away (real broker, a TCP proxy)', function () {
  this.timeout(120_000);

  it('after the connection to the leader it was given is lost, it asks for the leader again and reads every record once', async () => {
    const config = stackConfig();
    const topic = await freshTopic('gp-test-leader', 1);
    const n = 3_000;
    await produceRaw(
      topic,
      Array.from({ length: n }, (_, i) => ({
        key: `user${i % 9}.att.com`,
        value: JSON.stringify({ i, pad: 'x'.repeat(200) }),
        timestampMs: Date.now(),
      })),
    );
    // a proxy in front of the broker, named as the partition's leader; it goes away mid-read,
    // as a leader does when it restarts or loses leadership
    const { host, port } = parseBroker(config.brokers[0] as string);
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(port, host);
      client.pipe(upstream).pipe(client);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxied = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const leader = leaderConnector(config, topic, 0, proxied);
    const seen: number[] = [];
    let cut = false;
    await readRange(
      {
        connect: leader.connect,
        topic,
        partition: 0,
        startOffset: 0,
        endOffset: n,
        maxBytes: 32 * 1024, // many small fetches, so the cut lands mid-range
        afterFetch: async () => {
          if (!cut && seen.length >= 1_000) {
            cut = true;
            proxy.close();
            for (const s of sockets) s.destroy();
          }
        },
      },
      (offset) => {
        seen.push(offset);
      },
    );
    assert.ok(cut, 'the proxy was cut mid-read');
    assert.deepEqual(
      seen,
      Array.from({ length: n }, (_, i) => i),
    );
  });
});
