import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import {
  buildEvent,
  checkMetadata,
  RequestEvents,
  type AllowedHeaders,
} from '../../../src/lib/events/event.js';

describe('lib/events', () => {
  it('RequestEvents writes exactly JSON.stringify(buildEvent(...)) for checked batch entries', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const headers = fc.record(
      { Host: text, 'User-Agent': text, Accept: text },
      { requiredKeys: [] },
    ) as fc.Arbitrary<AllowedHeaders>;
    const entry = fc.oneof(
      fc.record(
        {
          type: fc.constant('purchase' as const),
          item: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
          price: fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constant(null)),
          currency: fc.constantFrom('USD', 'EUR'),
          quantity: fc.integer({ min: 1, max: 1_000_000 }),
          user_id: text.filter((t) => t.length >= 1 && t.length <= 128),
        },
        { requiredKeys: ['type', 'item'] },
      ),
      fc.record(
        {
          type: fc.constant('join_guild' as const),
          guild_id: text.filter((t) => t.length >= 1 && t.length <= 64),
          guild_name: text.filter((t) => t.length >= 1 && t.length <= 128),
          user_id: text.filter((t) => t.length >= 1 && t.length <= 128),
        },
        { requiredKeys: ['type'] },
      ),
    );
    const timestamp = new Date().toISOString();
    fc.assert(
      fc.property(headers, entry, (h, e) => {
        const kind = e.type;
        const item = kind === 'purchase' ? (e as { item: string }).item : undefined;
        const metadata = checkMetadata(kind, e, kind === 'purchase' ? ['type', 'item'] : ['type']);
        const eventId = randomUUID();
        const expected = JSON.stringify(
          buildEvent({ kind, item, headers: h, metadata, timestamp, eventId }),
        );
        assert.equal(new RequestEvents(h, timestamp).json(kind, item, metadata, eventId), expected);
      }),
      { numRuns: 2_000 },
    );
  });
});
