import type { Db } from '../store/db.js';
import { deploymentsOf, scanCounts } from '../store/search.js';

/** One day of an environment (schemas/trends.ts `TrendDay`). */
export interface TrendDay {
  day: string;
  images: number;
  worstGrade: string | null;
  critical: number;
  high: number;
  kev: number;
  total: number;
}

/**
 * Per day, the last `days` up to today: the images running in an environment at the end of the day,
 * their worst grade and summed counts as they were scanned then.
 */
export async function environmentTrend(db: Db, environment: string, days: number): Promise<TrendDay[]> {
  const deps = await deploymentsOf(db, environment);
  const scans = await scanCounts(db, [...new Set(deps.map((d) => d.digest))].slice(0, 2000));
  const out: TrendDay[] = [];
  const today = new Date();
  for (let i = days - 1; i >= 0; i--) {
    const end = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i, 23, 59, 59, 999),
    ).toISOString();
    // What ran at the end of that day: the newest deployment per workload until then.
    const now = new Map<string, string>();
    for (const d of deps)
      if (d.deployed_at <= end)
        now.set(`${d.registry}/${d.repository}|${d.namespace}|${d.service}`, d.digest);
    let worst: string | null = null;
    const sum = { critical: 0, high: 0, kev: 0, total: 0 };
    for (const digest of now.values()) {
      const sc = scans.filter((x) => x.digest === digest && x.created_at <= end).pop();
      if (!sc) continue;
      if (!worst || sc.grade > worst) worst = sc.grade;
      sum.critical += Number(sc.critical);
      sum.high += Number(sc.high);
      sum.kev += Number(sc.kev);
      sum.total += Number(sc.total);
    }
    out.push({ day: end.slice(0, 10), images: now.size, worstGrade: worst, ...sum });
  }
  return out;
}
