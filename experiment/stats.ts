// Means with 95% confidence intervals over seeds (Student t, n - 1 degrees of freedom).

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (standard table). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}; beyond the table the normal quantile is within 0.05 of it. */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`t quantile: degrees of freedom must be a positive integer, got ${df}`);
  return df <= T975.length ? T975[df - 1] : 1.96;
}

export interface Interval {
  n: number;
  mean: number;
  /** Bounds of the 95% interval (equal to the mean when n < 2: no interval). */
  lo: number;
  hi: number;
  values: number[];
}

export function ci95(values: number[]): Interval {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, lo: NaN, hi: NaN, values };
  const mean = values.reduce((a, v) => a + v, 0) / n;
  if (n < 2) return { n, mean, lo: mean, hi: mean, values };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * (sd / Math.sqrt(n));
  return { n, mean, lo: mean - half, hi: mean + half, values };
}
