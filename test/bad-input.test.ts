import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import { Client } from 'undici';
import { startApi, type RunningApi } from '../src/lib/api/server.js';
import { ITEM_PATTERN } from '../src/lib/events/event.js';
import { outputDir } from '../src/lib/lake/layout.js';
import { readColumns } from '../src/lib/lake/reader.js';
import { withHdfs } from '../src/lib/hdfs/webhdfs.js';
import {
  createTimeTopic,
  freshTopic,
  produceRaw,
  readTopic,
  runCli,
  stackConfig,
  uniqueName,
  lakeEventIds,
  makeEvent,
  daysAgo,
  extractArgs,
} from './helpers.js';

const config = stackConfig();

/** Sends raw bytes on a fresh socket; resolves with what came back before the server closed it. */
function rawRequest(
  port: number,
  bytes: Buffer | string,
  { waitMs = 4_000 } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, waitMs);
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.write(bytes);
  });
}

const status = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

describe('bad input: 1,000+ generated malformed requests (fast-check), nothing reaches Kafka', function () {
  this.timeout(600_000);
  let topic: string;
  let api: RunningApi;
  let client: Client;
  let port: number;
  let sent = 0;
  let validSent = 0;
  const statuses = new Map<number, number>();

  before(async () => {
    topic = await freshTopic('gp-bad-input');
    api = await startApi({ brokers: config.brokers, topic, port: 0, requestTimeoutMs: 1_000 });
    port = Number(new URL(api.url).port);
    client = new Client(api.url, { pipelining: 0 });
  });
  after(async () => {
    await client.close();
    await api.close();
  });

  async function expect4xx(req: {
    path: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }): Promise<void> {
    const res = await client.request({
      path: req.path,
      method: (req.method ?? 'GET') as 'GET',
      headers: req.headers,
      body: req.body,
    });
    const text = await res.body.text();
    sent++;
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    assert.ok(
      res.statusCode >= 400 && res.statusCode < 500,
      `${req.method ?? 'GET'} ${req.path.slice(0, 80)} → ${res.statusCode} ${text.slice(0, 200)}`,
    );
    const body = JSON.parse(text) as { error?: { code?: string } };
    assert.match(body.error?.code ?? '', /^GP_[A-Z_]+$/);
  }

  /** A valid request in between: the server must still answer, and its event is the only one in Kafka. */
  async function stillServes(): Promise<void> {
    const res = await client.request({
      path: '/join_a_guild',
      method: 'GET',
      headers: { host: 'user1.cox.com' },
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    validSent++;
  }

  /** Percent-encodes every byte that is not unreserved, so any string can travel in a path. */
  const pct = (s: string): string =>
    [...Buffer.from(s, 'utf8')]
      .map((b) =>
        /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
          ? String.fromCharCode(b)
          : `%${b.toString(16).padStart(2, '0')}`,
      )
      .join('');
  const invalid = (s: string): boolean =>
    !ITEM_PATTERN.test(Buffer.from(s, 'utf8').toString('utf8'));

  // what travels in the URL: a string percent-encoded byte by byte, or a raw attack as it is
  const badItem = fc.oneof(
    fc
      .oneof(
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({
          unit: fc.constantFrom('a', '-', '_', '.', '/', '%', ' ', '\t', '\u0000', 'é', '\u202e'),
          minLength: 1,
          maxLength: 70,
        }),
        fc.constantFrom('..', '.', 'a/b', 'a'.repeat(65), '⚔️'.repeat(40)),
      )
      .filter(invalid)
      .map(pct),
    fc.constantFrom(
      '..',
      '%2e%2e',
      '%2E',
      '..%2f..%2fetc%2fpasswd',
      '%00',
      '%0d%0aSet-Cookie:x',
      '%zz',
      '%E2%9A',
      'a%2Fb',
    ),
  );

  it('item names: dots, slashes, %2e, control characters, long unicode → 400', async () => {
    await fc.assert(
      fc.asyncProperty(badItem, fc.constantFrom('GET', 'POST'), async (item, method) => {
        await expect4xx({ path: `/purchase/${item}`, method });
      }),
      { numRuns: 300 },
    );
    await stillServes();
  });

  it('bodies: random bytes, wrong types, unknown fields, deep nesting, too big → 4xx', async () => {
    const notJson = fc.uint8Array({ minLength: 1, maxLength: 2_000 }).filter((b) => {
      try {
        JSON.parse(Buffer.from(b).toString('utf8'));
        return false;
      } catch {
        return Buffer.from(b).toString('utf8').trim().length > 0;
      }
    });
    const wrongType = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
      // noNaN: JSON writes NaN as null, which is an absent optional field, not a wrong type
      fc.double({ min: -1e12, max: -0.001, noNaN: true }),
    );
    const badPurchase = fc.oneof(
      fc.record({ price: wrongType }),
      fc.record({
        quantity: fc.oneof(
          wrongType,
          fc.double({ min: 1.01, max: 9.99, noNaN: true }),
          fc.integer({ min: -100, max: 0 }),
        ),
      }),
      fc.record({ currency: fc.string().filter((s) => !/^[A-Z]{3}$/.test(s)) }),
      fc.dictionary(
        fc
          .string({ minLength: 1 })
          .filter((k) => !['price', 'currency', 'quantity', 'user_id'].includes(k)),
        fc.jsonValue(),
        { minKeys: 1, maxKeys: 3 },
      ),
    );
    // keys named like Object.prototype's members, written as JSON text (an object literal would
    // set the prototype instead of a key), with any value, null too
    const prototypeKey = fc
      .tuple(
        fc.constantFrom(
          '__proto__',
          'constructor',
          'toString',
          'valueOf',
          'hasOwnProperty',
          'isPrototypeOf',
          'propertyIsEnumerable',
          'toLocaleString',
          '__defineGetter__',
        ),
        fc.oneof(fc.constant(null), fc.jsonValue()),
      )
      .map(([k, v]) => `{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}}`);
    const body = fc.oneof(
      notJson.map((b) => Buffer.from(b)),
      badPurchase.map((o) => JSON.stringify(o)),
      prototypeKey,
      fc.integer({ min: 100, max: 8_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
      fc
        .integer({ min: 100, max: 5_000 })
        .map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
      fc.integer({ min: 16_385, max: 200_000 }).map((n) => `{"user_id":"${'x'.repeat(n)}"}`),
      fc
        .jsonValue()
        .filter((v) => v !== null && (typeof v !== 'object' || Array.isArray(v)))
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        await expect4xx({
          path: '/purchase/sword',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: b,
        });
      }),
      { numRuns: 400 },
    );
    await stillServes();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .array(
              fc.record({
                type: fc.string().filter((t) => t !== 'purchase' && t !== 'join_guild'),
              }),
              { minLength: 1, maxLength: 20 },
            )
            .map((a) => JSON.stringify(a)),
          fc
            .array(fc.record({ type: fc.constant('purchase'), item: badItem }), {
              minLength: 1,
              maxLength: 20,
            })
            .map((a) => JSON.stringify(a)),
          prototypeKey.map((entry) => `[{"type":"join_guild",${entry.slice(1)}]`),
          fc
            .integer({ min: 501, max: 800 })
            .map((n) => JSON.stringify(Array.from({ length: n }, () => ({ type: 'join_guild' })))),
          fc
            .jsonValue()
            .filter((v) => !Array.isArray(v))
            .map((v) => JSON.stringify(v)),
        ),
        async (b) => {
          await expect4xx({
            path: '/events',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: b,
          });
        },
      ),
      { numRuns: 200 },
    );
    await stillServes();
  });

  it('routes, methods and header floods → 4xx; bodies that never finish are cut off', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({
            path: fc
              .webPath()
              .filter(
                (p) =>
                  !/^\/(purchase\/|join_a_guild$|events$|healthz$|readyz$|metrics$)/.test(p) &&
                  p.length > 0,
              ),
            method: fc.constant('GET'),
          }),
          fc.record({
            path: fc.constantFrom('/join_a_guild', '/purchase/sword', '/events'),
            method: fc.constantFrom('PUT', 'DELETE', 'PATCH'),
          }),
        ),
        async (r) => {
          await expect4xx({
            path: r.path.startsWith('/') ? r.path : `/${r.path}`,
            method: r.method,
          });
        },
      ),
      { numRuns: 150 },
    );
    for (let i = 0; i < 10; i++) {
      const flood = Array.from(
        { length: 400 },
        (_, k) => `X-Flood-${k}: ${'v'.repeat(60)}\r\n`,
      ).join('');
      const answer = await rawRequest(
        port,
        `GET /join_a_guild HTTP/1.1\r\nHost: x\r\n${flood}\r\n`,
      );
      sent++;
      assert.ok(
        status(answer) >= 400 && status(answer) < 500,
        `header flood → ${answer.slice(0, 40)}`,
      );
    }
    const stalled = await Promise.all(
      Array.from({ length: 20 }, () =>
        rawRequest(
          port,
          'POST /purchase/sword HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"price":',
          { waitMs: 8_000 },
        ),
      ),
    );
    sent += stalled.length;
    for (const s of stalled) assert.equal(status(s), 408, s.slice(0, 60));
    await stillServes();
  });

  it('in all: at least 1,000 malformed requests, every one refused, and only the valid probes reached Kafka', async () => {
    process.stderr.write(
      `      (${sent} malformed requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${validSent} valid probes)\n`,
    );
    assert.ok(sent >= 1_000, `${sent} malformed requests`);
    const records = await readTopic(topic);
    assert.equal(records.length, validSent);
    for (const r of records) assert.equal(JSON.parse(r.value).event_type, 'join_guild');
  });
});

describe('bad input: the edges of HTTP (prototype keys, pipelining, Host, versions, sizes, timeouts)', function () {
  this.timeout(120_000);
  let topic: string;
  let api: RunningApi;
  let port: number;
  const log: string[] = [];

  before(async () => {
    topic = await freshTopic('gp-edges');
    api = await startApi({
      brokers: config.brokers,
      topic,
      port: 0,
      requestTimeoutMs: 1_000,
      accessLog: (l) => log.push(l),
    });
    port = Number(new URL(api.url).port);
  });
  after(async () => {
    await api.close();
  });

  /** One request on its own connection: status and parsed JSON body. */
  async function send(
    path: string,
    {
      method = 'POST',
      headers = {},
      body,
    }: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, unknown> }> {
    const client = new Client(api.url);
    try {
      const res = await client.request({
        path,
        method: method as 'GET',
        headers: {
          host: 'user7.att.com',
          'content-type': 'application/json',
          accept: 'application/json',
          ...headers,
        },
        body,
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        json: JSON.parse(text) as Record<string, unknown>,
        headers: res.headers,
      };
    } finally {
      await client.close();
    }
  }
  const code = (j: Record<string, unknown>): string | undefined =>
    (j.error as { code?: string } | undefined)?.code;
  const metric = async (labels: string): Promise<number> => {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`gamepipe_http_requests_total{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('keys named like Object.prototype members are unknown fields (400), on both routes, never a 500 or a produced event', async () => {
    const keys = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];
    for (const key of keys) {
      for (const value of ['1', 'null', '{}']) {
        const one = await send('/purchase/sword', { body: `{${JSON.stringify(key)}:${value}}` });
        assert.equal(
          one.status,
          400,
          `${key}:${value} → ${one.status} ${JSON.stringify(one.json)}`,
        );
        assert.equal(code(one.json), 'GP_BAD_EVENT');
        const batch = await send('/events', {
          body: `[{"type":"purchase","item":"sword",${JSON.stringify(key)}:${value}}]`,
        });
        assert.equal(batch.status, 400, `${key}:${value} in a batch → ${batch.status}`);
        const results = batch.json.results as Array<{ error: { code: string; message: string } }>;
        assert.equal(results[0]?.error.code, 'GP_BAD_EVENT');
        assert.match(results[0]?.error.message ?? '', /unknown field/);
      }
    }
    // an item nested 200,000 arrays deep is described, not serialized
    const deep = `[{"type":"purchase","item":${'['.repeat(200_000)}${']'.repeat(200_000)}}]`;
    const nested = await send('/events', { body: deep });
    assert.equal(nested.status, 400);
    const r = (nested.json.results as Array<{ error: { code: string; message: string } }>)[0];
    assert.equal(r?.error.code, 'GP_BAD_EVENT');
    assert.match(r?.error.message ?? '', /item must match .* got an array/);
    assert.equal((await readTopic(topic)).length, 0);
  });

  it('a valid request pipelined before malformed bytes gets its own 200 before the 400', async () => {
    const before = (await readTopic(topic)).length;
    const answer = await rawRequest(
      port,
      'GET /purchase/sword HTTP/1.1\r\nHost: user3.cox.com\r\n\r\nGARBAGE \x01 NOT HTTP\r\n\r\n',
    );
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 400], answer);
    assert.equal((await readTopic(topic)).length, before + 1);
  });

  it('no usable Host is a 400 GP_BAD_HOST: HTTP/1.0 without one, empty, two, non-ASCII bytes, too long; HTTP/0.9 and 2.0 request lines are refused', async () => {
    const before = (await readTopic(topic)).length;
    const requests: Array<[string, string]> = [
      ['HTTP/1.0 without Host', 'GET /purchase/sword HTTP/1.0\r\n\r\n'],
      ['empty Host', 'GET /purchase/sword HTTP/1.1\r\nHost: \r\n\r\n'],
      [
        'two Host headers',
        'GET /purchase/sword HTTP/1.1\r\nHost: user1.att.com\r\nHost: user2.att.com\r\n\r\n',
      ],
      ['UTF-8 bytes', 'GET /purchase/sword HTTP/1.1\r\nHost: us\xc3\xa9r1.att.com\r\n\r\n'],
      ['a space in Host', 'GET /purchase/sword HTTP/1.1\r\nHost: user1 att.com\r\n\r\n'],
      ['300 characters', `GET /purchase/sword HTTP/1.1\r\nHost: ${'u'.repeat(300)}.com\r\n\r\n`],
      [
        'a batch without Host',
        'POST /events HTTP/1.0\r\nContent-Length: 23\r\n\r\n[{"type":"join_guild"}]',
      ],
    ];
    for (const [what, raw] of requests) {
      const answer = await rawRequest(port, Buffer.from(raw, 'latin1'), { waitMs: 1_000 });
      assert.equal(status(answer), 400, `${what}: ${answer.slice(0, 80)}`);
      assert.match(answer, /GP_BAD_HOST/, what);
    }
    for (const raw of [
      'GET /purchase/sword HTTP/2.0\r\nHost: user1.att.com\r\n\r\n',
      'GET /purchase/sword\r\n\r\n',
    ]) {
      const answer = await rawRequest(port, raw, { waitMs: 1_500 });
      assert.ok(
        !/^HTTP\/1\.[01] 2/.test(answer),
        `${JSON.stringify(raw)} → ${answer.slice(0, 60)}`,
      );
      if (answer !== '') assert.equal(status(answer), 400, answer.slice(0, 80));
    }
    // HTTP/1.0 with a Host is fine
    const ok = await rawRequest(port, 'GET /join_a_guild HTTP/1.0\r\nHost: user4.att.com\r\n\r\n');
    assert.match(ok, /^HTTP\/1\.1 200/);
    const records = await readTopic(topic);
    assert.equal(records.length, before + 1);
    assert.ok(records.some((r) => JSON.parse(r.value).Host === 'user4.att.com'));
  });

  it('414 for a long URL, 431 for big headers (below and past the parser limit), 405 for CONNECT', async () => {
    assert.equal(
      status(
        await rawRequest(
          port,
          `GET /purchase/${'a'.repeat(10_000)} HTTP/1.1\r\nHost: x.com\r\n\r\n`,
        ),
      ),
      414,
    );
    assert.equal(
      status(
        await rawRequest(
          port,
          `GET /purchase/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x.com\r\n\r\n`,
        ),
      ),
      414,
    );
    const headers = (n: number): string =>
      Array.from({ length: n }, (_, k) => `X-H${k}: ${'v'.repeat(60)}\r\n`).join('');
    assert.equal(
      status(
        await rawRequest(port, `GET /join_a_guild HTTP/1.1\r\nHost: x.com\r\n${headers(400)}\r\n`),
      ),
      431,
    );
    assert.equal(
      status(
        await rawRequest(
          port,
          `GET /join_a_guild HTTP/1.1\r\nHost: x.com\r\n${headers(2_000)}\r\n`,
        ),
      ),
      431,
    );
    const connect = await rawRequest(
      port,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    assert.equal(status(connect), 405, connect);
    assert.equal(await metric('route="unknown",method="CONNECT",status="405"'), 1);
  });

  it('a timed-out request is logged and counted as the 408 it got; bad percent-encoding counts under its route; no query string in the log', async () => {
    const answer = await rawRequest(
      port,
      'POST /purchase/sword HTTP/1.1\r\nHost: x.com\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"price":',
    );
    assert.equal(status(answer), 408);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await metric('route="purchase",method="POST",status="408"'), 1);
    assert.equal(await metric('route="purchase",method="POST",status="500"'), 0);
    assert.ok(log.some((l) => JSON.parse(l).status === 408));
    const before = await metric('route="purchase",method="GET",status="400"');
    const unknown = await metric('route="unknown",method="GET",status="400"');
    assert.equal((await send('/purchase/%zz', { method: 'GET' })).status, 400);
    assert.equal(await metric('route="purchase",method="GET",status="400"'), before + 1);
    assert.equal(await metric('route="unknown",method="GET",status="400"'), unknown);
    await send('/purchase/sword?token=SECRET', { method: 'GET' });
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!log.some((l) => l.includes('SECRET')), 'a query string reached the access log');
  });

  it('a client-supplied event id (body or Idempotency-Key) is the event_id, so a retry is a duplicate extract removes', async () => {
    const id = 'a3f1c2e9-0b7d-4c61-9a53-5d2e8f4b7a10';
    const first = await send('/purchase/sword', {
      body: JSON.stringify({ event_id: id, price: 5 }),
    });
    const retry = await send('/purchase/sword', {
      body: JSON.stringify({ event_id: id.toUpperCase(), price: 5 }),
    });
    assert.deepEqual(
      [first.status, first.json.event_id, retry.status, retry.json.event_id],
      [200, id, 200, id],
    );
    const key = 'b3f1c2e9-0b7d-4c61-9a53-5d2e8f4b7a11';
    const byHeader = await send('/join_a_guild', {
      method: 'GET',
      headers: { 'idempotency-key': key },
    });
    assert.equal(byHeader.json.event_id, key);
    const clash = await send('/join_a_guild', {
      headers: { 'idempotency-key': key },
      body: JSON.stringify({ event_id: id }),
    });
    assert.equal(clash.status, 400);
    const bad = await send('/purchase/sword', { body: JSON.stringify({ event_id: 'not-a-uuid' }) });
    assert.deepEqual([bad.status, code(bad.json)], [400, 'GP_BAD_EVENT']);
    const batch = await send('/events', {
      body: JSON.stringify([
        { type: 'join_guild', event_id: key },
        { type: 'join_guild', event_id: key },
        { type: 'join_guild', event_id: 7 },
      ]),
    });
    assert.equal(batch.status, 207);
    const results = batch.json.results as Array<{ status: string; event_id?: string }>;
    assert.deepEqual(
      results.map((r) => r.status),
      ['accepted', 'rejected', 'rejected'],
    );
    assert.equal(results[0]?.event_id, key);
    const ids = (await readTopic(topic)).map((r) => JSON.parse(r.value).event_id as string);
    assert.equal(ids.filter((x) => x === id).length, 2);
    assert.equal(ids.filter((x) => x === key).length, 2);
  });

  it('a lower-case bearer scheme is accepted (the scheme is case-insensitive)', async () => {
    const secured = await startApi({ brokers: config.brokers, topic, port: 0, token: 'T0K' });
    try {
      for (const [header, want] of [
        ['bearer T0K', 200],
        ['BEARER T0K', 200],
        ['Bearer nope', 401],
      ] as const) {
        const res = await fetch(`${secured.url}/join_a_guild`, {
          headers: { authorization: header },
        });
        await res.text();
        assert.equal(res.status, want, header);
      }
    } finally {
      await secured.close();
    }
  });
});

describe('bad input: garbage in the topic → every bad record in _rejected, every good one in the lake', function () {
  this.timeout(300_000);

  it('holds for generated garbage', async () => {
    const day = daysAgo(17);
    const t = Date.parse(`${day}T08:00:00Z`);
    const topic = await createTimeTopic('gp-garbage', 3);
    const base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    // garbage that is never a valid event by construction (the rules as docs/events.md states
    // them: a JSON object with an event_id, event_type "join_guild" or "<item> purchased" with
    // an item of [A-Za-z0-9_-]{1,64}, and an ISO 8601 timestamp), so that every one is rejected
    const noEventId = (text: string): boolean => {
      try {
        const v: unknown = JSON.parse(text);
        return typeof v !== 'object' || v === null || !('event_id' in v);
      } catch {
        return true;
      }
    };
    const garbage = fc.sample(
      fc.oneof(
        fc
          .uint8Array({ maxLength: 300 })
          .map((b) => Buffer.from(b))
          .filter((b) => noEventId(b.toString('utf8'))),
        fc
          .jsonValue()
          .map((v) => JSON.stringify(v))
          .filter(noEventId),
        fc
          .record({
            event_type: fc
              .string()
              .filter((t) => t !== 'join_guild' && !/^[A-Za-z0-9_-]{1,64} purchased$/.test(t)),
            event_id: fc.uuid(),
            timestamp: fc.constant(`${day}T08:00:00Z`),
          })
          .map((v) => JSON.stringify(v)),
        fc
          .record({
            event_type: fc.constant('knife purchased'),
            event_id: fc.uuid(),
            timestamp: fc.string().filter((t) => !/^\d{4}-\d\d-\d\dT/.test(t)),
          })
          .map((v) => JSON.stringify(v)),
        fc
          .record({
            event_type: fc.constant('join_guild'),
            event_id: fc.oneof(fc.integer(), fc.constant('')),
            timestamp: fc.constant(`${day}T08:00:00Z`),
          })
          .map((v) => JSON.stringify(v)),
      ),
      { numRuns: 400, seed: 42 },
    );
    const good = Array.from({ length: 300 }, (_, i) =>
      makeEvent({
        kind: i % 3 ? 'purchase' : 'join_guild',
        item: 'knife',
        headers: { Host: `user${i % 99}.att.com` },
        now: new Date(t),
      }),
    );
    const mixed: Array<{ key: string | null; value: string | Buffer; timestampMs: number }> = [];
    garbage.forEach((g, i) => {
      mixed.push({ key: `junk${i}`, value: g, timestampMs: t });
      const e = good[i];
      if (e) mixed.push({ key: e.Host, value: JSON.stringify(e), timestampMs: t });
    });
    await produceRaw(topic, mixed);
    const res = await runCli(extractArgs(day, topic, base, '--format', 'json'));
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as {
      records: number;
      rejected: number;
      duplicates: number;
      outputs: Record<string, { rows: number }>;
    };
    assert.equal(r.records, 700);
    assert.equal(r.rejected, 400);
    await withHdfs(config, async (hdfs) => {
      const landed = await lakeEventIds(base, day);
      const ids = [...landed.purchases, ...landed.join_guild];
      for (const e of good) assert.ok(ids.includes(e.event_id), `good event ${e.event_id} landed`);
      let rejectedRows = 0;
      const dir = outputDir(base, '_rejected', day);
      for (const f of await hdfs.listStatus(dir))
        rejectedRows += (await readColumns(hdfs, `${dir}/${f.pathSuffix}`, ['reason'])).rows;
      assert.equal(rejectedRows, r.rejected);
    });
    process.stderr.write(
      `      (${r.records} records: ${r.rejected} rejected with reasons, ${300 - r.duplicates} events landed)\n`,
    );
  });
});
