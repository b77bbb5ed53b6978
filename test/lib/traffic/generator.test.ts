import assert from 'node:assert/strict';
import { PRICES, planRun } from '../../../src/lib/traffic/generator.js';
import { runCli } from '../../helpers.js';

type Purchase = { host: string; item: string; price?: number; currency?: string };

function purchases(currencies?: string[]): Purchase[] {
  return planRun({ n: 3_000, seed: 'currencies', maxConcurrency: 4, currencies }).flatMap((b) =>
    b.requests.flatMap((r) =>
      r.events
        .filter((e) => e.kind === 'purchase')
        .map((e) => ({
          host: e.host,
          item: e.item as string,
          ...(e.metadata as { price?: number; currency?: string }),
        })),
    ),
  );
}

describe('traffic/generator: players in several currencies', () => {
  it('each player pays in one currency, about 70% in the first; prices in the currency, JPY in whole yen; the seed gives the same players and items whatever the currencies', () => {
    const usd = purchases();
    const two = purchases(['USD', 'JPY']);
    assert.deepEqual(
      two.map((p) => [p.host, p.item]),
      usd.map((p) => [p.host, p.item]),
    );
    assert.ok(usd.every((p) => p.price === undefined || p.currency === 'USD'));
    const byHost = new Map<string, Set<string>>();
    for (const p of two.filter((x) => x.currency !== undefined))
      byHost.set(p.host, (byHost.get(p.host) ?? new Set()).add(p.currency as string));
    assert.ok(
      [...byHost.values()].every((s) => s.size === 1),
      'one currency a player',
    );
    const jpyPlayers = [...byHost.values()].filter((s) => s.has('JPY')).length;
    assert.ok(
      jpyPlayers > 0.15 * byHost.size && jpyPlayers < 0.45 * byHost.size,
      `${jpyPlayers}/${byHost.size}`,
    );
    for (const p of two.filter((x) => x.price !== undefined)) {
      const usdPrice = PRICES[p.item as keyof typeof PRICES];
      if (p.currency === 'JPY') assert.equal(p.price, Math.round(usdPrice * 150));
      else assert.equal(p.price, usdPrice);
    }
  });

  it('generate --currencies takes 3-letter codes only (exit 2, before anything is sent)', async () => {
    const res = await runCli([
      'generate',
      '10',
      '--currencies',
      'USD,yen',
      '--url',
      'http://127.0.0.1:1',
    ]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /GP_USAGE: --currencies: "yen" is not a currency code/);
  });
});
