import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildEvent, eventJson, type AllowedHeaders } from '../../src/lib/events.js';

describe('lib/events', () => {
  it('eventJson writes exactly what JSON.stringify writes, for any headers and metadata', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const headers = fc.record(
      { Host: text, 'User-Agent': text, Accept: text },
      { requiredKeys: [] },
    ) as fc.Arbitrary<AllowedHeaders>;
    const purchase = fc.record(
      {
        price: fc.double({ min: 0, max: 1e9, noNaN: true }),
        currency: fc.constantFrom('USD', 'EUR'),
        quantity: fc.integer({ min: 1, max: 1_000_000 }),
        user_id: text,
      },
      { requiredKeys: [] },
    );
    const guild = fc.record(
      { guild_id: text, guild_name: text, user_id: text },
      { requiredKeys: [] },
    );
    const event = fc.oneof(
      fc
        .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), headers, purchase)
        .map(([item, h, metadata]) => buildEvent({ kind: 'purchase', item, headers: h, metadata })),
      fc
        .tuple(headers, guild)
        .map(([h, metadata]) => buildEvent({ kind: 'join_guild', headers: h, metadata })),
    );
    const shared = new Map<string, string>();
    fc.assert(
      fc.property(event, (e) => {
        assert.equal(eventJson(e, shared), JSON.stringify(e));
      }),
      { numRuns: 2_000 },
    );
  });
});
