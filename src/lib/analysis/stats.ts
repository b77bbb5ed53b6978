/**
 * Pearson's chi-square test of a day's counts against an expected mix, and the regularized
 * incomplete gamma function it needs (series and continued fraction, as in Numerical Recipes).
 */

function logGamma(x: number): number {
  // Lanczos approximation, g = 7
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(a, x) = 1 - P(a, x), the upper regularized incomplete gamma function. */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lg = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lg);
  }
  // Lentz's continued fraction
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - lg) * h;
}

export interface ChiSquare {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
}

/**
 * Goodness of fit of `observed` counts to the mix of `reference` counts (same categories).
 * Categories absent from the reference are pooled with the smallest expected one, so the test
 * stays defined when a new category appears.
 */
export function chiSquareAgainst(observed: number[], reference: number[]): ChiSquare {
  const n = observed.reduce((s, v) => s + v, 0);
  const r = reference.reduce((s, v) => s + v, 0);
  if (n === 0 || r === 0) return { statistic: 0, degreesOfFreedom: 0, pValue: 1 };
  // a little smoothing keeps a category unseen in the reference from dividing by zero
  const k = observed.length;
  const expected = reference.map((v) => ((v + 0.5) / (r + 0.5 * k)) * n);
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const e = expected[i] as number;
    const d = (observed[i] as number) - e;
    stat += (d * d) / e;
  }
  const df = Math.max(1, k - 1);
  return { statistic: stat, degreesOfFreedom: df, pValue: gammaQ(df / 2, stat / 2) };
}

/** Total variation distance between two mixes: half the sum of share differences (0..1). */
export function mixDistance(a: number[], b: number[]): number {
  const sa = a.reduce((s, v) => s + v, 0) || 1;
  const sb = b.reduce((s, v) => s + v, 0) || 1;
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs((a[i] as number) / sa - (b[i] as number) / sb);
  return d / 2;
}
