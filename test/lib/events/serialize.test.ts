import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { AllowedHeaders } from '../../../src/lib/events/event.js';
import { RequestEvents } from '../../../src/lib/events/serialize.js';
import { checkMetadata } from '../../../src/lib/events/validate.js';

describe('lib/events', () => {
  it('RequestEvents writes compact JSON holding exactly the fields docs/events.md lists, for checked entries', () => {
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
        const text = new RequestEvents(h, timestamp).json(kind, item, metadata, eventId);
        // the event as docs/events.md lists its fields: common ones, allowed headers when sent,
        // the item of a purchase, and the checked metadata as given
        const expected: Record<string, unknown> = {
          event_type: kind === 'purchase' ? `${item} purchased` : 'join_guild',
          Host: h.Host ?? '',
          event_id: eventId,
          timestamp,
          schema_version: 1,
        };
        if (h['User-Agent'] !== undefined) expected['User-Agent'] = h['User-Agent'];
        if (h.Accept !== undefined) expected.Accept = h.Accept;
        if (kind === 'purchase') expected.item = item;
        for (const [k, v] of Object.entries(e)) {
          // a null is left out, as if not sent
          if (k !== 'type' && k !== 'item' && v !== null) expected[k] = v;
        }
        const parsed = JSON.parse(text) as Record<string, unknown>;
        assert.deepEqual(parsed, expected);
        assert.equal(JSON.stringify(parsed), text, 'compact JSON, nothing else');
      }),
      { numRuns: 2_000 },
    );
  });
});
