import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Client } from 'undici';
import { startApi, type RunningApi } from '../../../src/lib/api/server.js';
import { freshTopic, readTopic, stackConfig } from '../../helpers.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => { error?: { code: string; message: string } } & Record<string, unknown>;
}

async function call(
  api: RunningApi,
  path: string,
  {
    method = 'GET',
    headers = {},
    body,
  }: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  // a Client sends the path as it is: a URL would normalise away `..`
  const client = new Client(api.url);
  try {
    const res = await client.request({ path, method: method as 'GET', headers, body });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
  } finally {
    await client.close();
  }
}

describe('serve: the game API against the real broker', function () {
  this.timeout(120_000);
  const config = stackConfig();
  let topic: string;
  let api: RunningApi;
  const logLines: string[] = [];

  before(async () => {
    topic = await freshTopic('gp-api');
    api = await startApi({
      brokers: config.brokers,
      topic,
      port: 0,
      accessLog: (l) => logLines.push(l),
    });
  });
  after(async () => {
    await api.close();
  });

  it('seed-style requests land in Kafka with exactly the expected fields; Cookie and Authorization never', async () => {
    const seedHeaders = {
      host: 'user12.comcast.com',
      'user-agent': 'ApacheBench/2.3',
      accept: '*/*',
    };
    const secret = {
      cookie: 'session=SECRET-COOKIE',
      authorization: 'Bearer SECRET-TOKEN',
      'x-forwarded-for': '10.1.2.3',
    };
    const r1 = await call(api, '/purchase/sword', { headers: { ...seedHeaders, ...secret } });
    assert.equal(r1.status, 200);
    assert.equal(r1.text, 'sword Purchased!\n');
    const r2 = await call(api, '/purchase/knife', { method: 'POST', headers: seedHeaders });
    assert.equal(r2.text, 'knife Purchased!\n');
    const r3 = await call(api, '/join_a_guild', { headers: seedHeaders });
    assert.equal(r3.text, 'Joined guild.\n');
    const r4 = await call(api, '/purchase/shield', {
      method: 'POST',
      headers: { ...seedHeaders, accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ price: 9.99, currency: 'USD', quantity: 2, user_id: 'u12' }),
    });
    assert.equal(r4.status, 200);
    const j4 = r4.json();
    assert.equal(j4.event_type, 'shield purchased');
    assert.equal(j4.event_id, r4.headers['x-event-id']);
    const r5 = await call(api, '/join_a_guild', {
      method: 'POST',
      headers: { ...seedHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ guild_id: 'g01', guild_name: 'Iron Wolves', user_id: 'u12' }),
    });
    assert.equal(r5.status, 200);

    const records = await readTopic(topic);
    assert.equal(records.length, 5);
    const byId = new Map(records.map((r) => [JSON.parse(r.value).event_id as string, r]));
    const ids = [r1, r2, r3, r4, r5].map((r) => r.headers['x-event-id'] as string);
    for (const id of ids) assert.ok(byId.has(id), `event ${id} is in Kafka`);
    for (const r of records) {
      assert.equal(r.key, 'user12.comcast.com');
      assert.doesNotMatch(r.value, /SECRET|10\.1\.2\.3|cookie|authorization|forwarded/i);
    }
    const e1 = JSON.parse(byId.get(ids[0] as string)?.value ?? '{}');
    assert.deepEqual(Object.keys(e1).sort(), [
      'Accept',
      'Host',
      'User-Agent',
      'event_id',
      'event_type',
      'item',
      'schema_version',
      'timestamp',
    ]);
    assert.equal(e1.event_type, 'sword purchased');
    assert.equal(e1.Host, 'user12.comcast.com');
    assert.equal(e1['User-Agent'], 'ApacheBench/2.3');
    assert.equal(e1.Accept, '*/*');
    assert.equal(e1.item, 'sword');
    assert.equal(e1.schema_version, 1);
    assert.ok(Math.abs(Date.parse(e1.timestamp) - Date.now()) < 60_000);
    const e3 = JSON.parse(byId.get(ids[2] as string)?.value ?? '{}');
    assert.equal(e3.event_type, 'join_guild');
    assert.equal(e3.item, undefined);
    const e4 = JSON.parse(byId.get(ids[3] as string)?.value ?? '{}');
    assert.deepEqual([e4.price, e4.currency, e4.quantity, e4.user_id], [9.99, 'USD', 2, 'u12']);
    const e5 = JSON.parse(byId.get(ids[4] as string)?.value ?? '{}');
    assert.deepEqual([e5.guild_id, e5.guild_name, e5.user_id], ['g01', 'Iron Wolves', 'u12']);
    // the access log records no header outside the allowlist
    for (const line of logLines) assert.doesNotMatch(line, /SECRET|10\.1\.2\.3/);
    assert.ok(logLines.some((l) => JSON.parse(l).event_id === ids[0]));
  });

  it('every bad-input class gets its status and code, and nothing reaches Kafka', async () => {
    const bad = await freshTopic('gp-api-bad');
    const strict = await startApi({
      brokers: config.brokers,
      topic: bad,
      port: 0,
      requestTimeoutMs: 1_000,
    });
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, Parameters<typeof call>[2] & { path: string }, number, string]> = [
      ['dot-dot item', { path: '/purchase/..' }, 400, 'GP_BAD_EVENT'],
      ['encoded dot item', { path: '/purchase/%2e%2e' }, 400, 'GP_BAD_EVENT'],
      ['slash in item', { path: '/purchase/a%2Fb' }, 400, 'GP_BAD_EVENT'],
      ['nested path', { path: '/purchase/a/b' }, 400, 'GP_BAD_EVENT'],
      ['control character', { path: '/purchase/a%00b' }, 400, 'GP_BAD_EVENT'],
      ['unicode item', { path: '/purchase/%E2%9A%94' }, 400, 'GP_BAD_EVENT'],
      ['item too long', { path: `/purchase/${'a'.repeat(65)}` }, 400, 'GP_BAD_EVENT'],
      ['empty item', { path: '/purchase/' }, 400, 'GP_BAD_EVENT'],
      ['broken percent-encoding', { path: '/purchase/%zz' }, 400, 'GP_BAD_EVENT'],
      [
        'body not JSON',
        { path: '/purchase/sword', method: 'POST', headers: json, body: '{nope' },
        400,
        'GP_BAD_JSON',
      ],
      [
        'body an array',
        { path: '/purchase/sword', method: 'POST', headers: json, body: '[1]' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'price a string',
        { path: '/purchase/sword', method: 'POST', headers: json, body: '{"price":"1"}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'quantity fractional',
        { path: '/purchase/sword', method: 'POST', headers: json, body: '{"quantity":1.5}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'currency lower case',
        { path: '/purchase/sword', method: 'POST', headers: json, body: '{"currency":"usd"}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'guild_id a number',
        { path: '/join_a_guild', method: 'POST', headers: json, body: '{"guild_id":7}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'price on a guild join',
        { path: '/join_a_guild', method: 'POST', headers: json, body: '{"price":1}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'unknown field',
        { path: '/purchase/sword', method: 'POST', headers: json, body: '{"cheat":true}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'body over 16 KiB',
        {
          path: '/purchase/sword',
          method: 'POST',
          headers: json,
          body: `{"user_id":"${'x'.repeat(17_000)}"}`,
        },
        413,
        'GP_BODY_TOO_LARGE',
      ],
      ['unknown route', { path: '/admin' }, 404, 'GP_ROUTE_NOT_FOUND'],
      ['wrong method', { path: '/join_a_guild', method: 'DELETE' }, 405, 'GP_METHOD_NOT_ALLOWED'],
      ['GET on /events', { path: '/events' }, 405, 'GP_METHOD_NOT_ALLOWED'],
      [
        'batch not an array',
        { path: '/events', method: 'POST', headers: json, body: '{}' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'batch empty',
        { path: '/events', method: 'POST', headers: json, body: '[]' },
        400,
        'GP_BAD_EVENT',
      ],
      [
        'batch of 501',
        {
          path: '/events',
          method: 'POST',
          headers: json,
          body: JSON.stringify(Array.from({ length: 501 }, () => ({ type: 'join_guild' }))),
        },
        413,
        'GP_BATCH_TOO_LARGE',
      ],
      [
        'batch over 1 MiB',
        {
          path: '/events',
          method: 'POST',
          headers: json,
          body: JSON.stringify([{ type: 'join_guild', user_id: 'x'.repeat(1_100_000) }]),
        },
        413,
        'GP_BODY_TOO_LARGE',
      ],
      [
        'batch all invalid',
        {
          path: '/events',
          method: 'POST',
          headers: json,
          body: '[{"type":"x"},{"type":"purchase","item":".."}]',
        },
        400,
        '',
      ],
    ];
    try {
      for (const [name, { path, ...opts }, status, code] of cases) {
        const r = await call(strict, path, opts);
        assert.equal(r.status, status, `${name}: ${r.text}`);
        if (code) assert.equal(r.json().error?.code, code, name);
        if (status === 405) assert.ok(r.headers.allow, `${name}: Allow header`);
      }
      // a stalled body is cut off
      const cut = await new Promise<string>((resolve) => {
        const socket = connect((strict.server.address() as { port: number }).port, '127.0.0.1');
        let got = '';
        socket.on('data', (d) => (got += d.toString()));
        socket.on('close', () => resolve(got));
        socket.write(
          'POST /purchase/sword HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pri',
        );
      });
      assert.match(cut, /^HTTP\/1\.1 408/);
    } finally {
      await strict.close();
    }
    assert.deepEqual(await readTopic(bad), []);
  });

  it('a bearer token, when set, is required (401) and then accepted', async () => {
    const t = await freshTopic('gp-api-token');
    const guarded = await startApi({ brokers: config.brokers, topic: t, port: 0, token: 's3cret' });
    try {
      const none = await call(guarded, '/join_a_guild');
      assert.equal(none.status, 401);
      assert.equal(none.json().error?.code, 'GP_UNAUTHORIZED');
      assert.equal(
        (await call(guarded, '/join_a_guild', { headers: { authorization: 'Bearer wrong' } }))
          .status,
        401,
      );
      assert.equal((await call(guarded, '/healthz')).status, 200);
      const ok = await call(guarded, '/join_a_guild', {
        headers: { authorization: 'Bearer s3cret', host: 'user1.att.com' },
      });
      assert.equal(ok.status, 200);
    } finally {
      await guarded.close();
    }
    const records = await readTopic(t);
    assert.equal(records.length, 1);
    assert.doesNotMatch(records[0]?.value ?? '', /s3cret/);
  });

  it('POST /events is per event: valid ones land, invalid ones are reported and do not', async () => {
    const t = await freshTopic('gp-api-batch');
    const b = await startApi({ brokers: config.brokers, topic: t, port: 0 });
    try {
      const r = await call(b, '/events', {
        method: 'POST',
        headers: { host: 'user3.cox.com', 'content-type': 'application/json', cookie: 'c=SECRET' },
        body: JSON.stringify([
          { type: 'purchase', item: 'helmet', price: 7.49, currency: 'USD', quantity: 1 },
          { type: 'purchase', item: 'bad item' },
          { type: 'join_guild', guild_id: 'g02', guild_name: 'Silver Ravens' },
          { type: 'join_guild', price: 3 },
          'not an object',
        ]),
      });
      assert.equal(r.status, 207);
      const body = r.json() as unknown as {
        accepted: number;
        rejected: number;
        results: Array<{ status: string; event_id?: string; error?: { code: string } }>;
      };
      assert.equal(body.accepted, 2);
      assert.equal(body.rejected, 3);
      assert.deepEqual(
        body.results.map((x) => x.status),
        ['accepted', 'rejected', 'accepted', 'rejected', 'rejected'],
      );
      assert.equal(body.results[1]?.error?.code, 'GP_BAD_EVENT');
      const records = await readTopic(t);
      assert.deepEqual(
        records.map((x) => JSON.parse(x.value).event_id).sort(),
        [body.results[0]?.event_id, body.results[2]?.event_id].sort(),
      );
      for (const x of records) {
        assert.equal(x.key, 'user3.cox.com');
        assert.doesNotMatch(x.value, /SECRET/);
      }
    } finally {
      await b.close();
    }
  });

  it('healthz, readyz and Prometheus metrics', async () => {
    assert.equal((await call(api, '/healthz')).status, 200);
    const ready = await call(api, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json().status, 'ready');
    const m = (await call(api, '/metrics')).text;
    assert.match(
      m,
      /^gamepipe_http_requests_total\{route="purchase",method="GET",status="200"\} \d+$/m,
    );
    assert.match(m, /^gamepipe_events_produced_total\{kind="purchase"\} 3$/m);
    assert.match(m, /^gamepipe_events_produced_total\{kind="join_guild"\} 2$/m);
    assert.match(m, /^gamepipe_produce_latency_seconds_count 5$/m);
    assert.match(m, /^gamepipe_http_requests_in_flight 1$/m);
  });
});
