import { ErrorCodes, GamepipeError } from '../core/errors.js';

/** The internet providers the seed's analysts matched Host names against. */
export const DEFAULT_PROVIDERS = [
  'comcast',
  'att',
  'google',
  'frontier',
  'cox',
  'earthlink',
] as const;
export const OTHER = 'other';

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks a provider list (each a DNS label); the order decides between two matches. */
export function parseProviders(input: string | readonly string[]): string[] {
  const list = (typeof input === 'string' ? input.split(',') : [...input])
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  const bad = list.filter((p) => !NAME.test(p) || p === OTHER);
  if (list.length === 0 || bad.length > 0) {
    throw new GamepipeError(
      ErrorCodes.usage,
      list.length === 0
        ? 'the provider list is empty'
        : `not a provider name: ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
      {
        hint: `give domain labels, e.g. --providers ${DEFAULT_PROVIDERS.join(',')} ("other" is reserved)`,
      },
    );
  }
  if (new Set(list).size !== list.length) {
    throw new GamepipeError(ErrorCodes.usage, 'the provider list names a provider twice', {
      hint: 'list each provider once',
    });
  }
  return list;
}

/**
 * The provider of a Host header: a provider name that is a whole domain label of the host (not a
 * substring: `matter.example.com` is not att), the first of the list that matches; else "other".
 * The port, if any, is ignored.
 */
export function providerMatcher(
  providers: readonly string[],
): (host: string | null | undefined) => string {
  const set = new Set(providers);
  const cache = new Map<string, string>();
  return (host) => {
    if (!host) return OTHER;
    let p = cache.get(host);
    if (p === undefined) {
      const labels = host.toLowerCase().replace(/:\d+$/, '').split('.');
      p = providers.find((name) => set.has(name) && labels.includes(name)) ?? OTHER;
      if (cache.size < 1_000_000) cache.set(host, p);
    }
    return p;
  };
}
