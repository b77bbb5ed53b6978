/**
 * Money as people read it: thousands separators, the currency's own decimals (2 for USD, 0 for
 * JPY, 3 for BHD: ISO 4217 as the JavaScript runtime knows it) and its code, "42,691 JPY". An
 * amount without a currency (a purchase that named none) keeps 2 decimals and no code.
 */
const digits = new Map<string, number>();

/** The decimals of a currency's minor unit (2 when the code is unknown to the runtime). */
export function minorDigits(currency: string | null | undefined): number {
  if (!currency) return 2;
  let d = digits.get(currency);
  if (d === undefined) {
    try {
      d =
        new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      d = 2;
    }
    digits.set(currency, d);
  }
  return d;
}

/** "1,234.50 USD", "42,691 JPY", "12.00" (no currency). */
export function formatMoney(amount: number, currency: string | null | undefined): string {
  const d = minorDigits(currency);
  const text = amount.toLocaleString('en-US', {
    minimumFractionDigits: d,
    maximumFractionDigits: d,
  });
  return currency ? `${text} ${currency}` : text;
}

/** An amount rounded to its currency's minor unit, as a number. */
export function roundMoney(amount: number, currency: string | null | undefined): number {
  const f = 10 ** minorDigits(currency);
  return Math.round(amount * f) / f;
}
