/**
 * The summary table at the end of a campaign (and of `timewait merge`): per suite, runs,
 * failures, segments simulated, virtual time covered and wall time. It is computed from the
 * CSV rows alone, so a merged set of shard files gives the same table as one machine would.
 */
import { SUITES } from '../suites.js';
import type { RunRow } from './rows.js';

export interface SuiteSummary {
  readonly suite: string;
  readonly claims: string;
  readonly runs: number;
  readonly failures: number;
  readonly segments: number;
  readonly virtualUs: number;
  /** Sum of the runs' wall-clock times; null when timing was off. */
  readonly wallMs: number | null;
}

type SummaryRow = Pick<RunRow, 'suite' | 'segments_sent' | 'virtual_us' | 'violations' | 'wall_ms'>;

export function summarize(rows: readonly SummaryRow[]): SuiteSummary[] {
  const accumulator = new SummaryAccumulator();
  for (const row of rows) accumulator.add(row);
  return accumulator.summaries();
}

/** The summary table's figures, added up row by row: a campaign keeps these, not its rows. */
export class SummaryAccumulator {
  private readonly bySuite = new Map<string, { runs: number; failures: number; segments: number; virtualUs: number; wallMs: number | null }>();

  add(row: SummaryRow): void {
    let s = this.bySuite.get(row.suite);
    if (s === undefined) {
      s = { runs: 0, failures: 0, segments: 0, virtualUs: 0, wallMs: 0 };
      this.bySuite.set(row.suite, s);
    }
    s.runs++;
    if (row.violations > 0) s.failures++;
    s.segments += row.segments_sent;
    s.virtualUs += row.virtual_us;
    s.wallMs = row.wall_ms === '' || s.wallMs === null ? null : s.wallMs + row.wall_ms;
  }

  summaries(): SuiteSummary[] {
    const order = (name: string) => {
      const i = SUITES.findIndex((s) => s.name === name);
      return i < 0 ? SUITES.length : i;
    };
    return [...this.bySuite.entries()]
      .sort(([a], [b]) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0))
      .map(([suite, s]) => ({ suite, claims: SUITES.find((x) => x.name === suite)?.claims.join(' ') ?? '', ...s }));
  }
}

export interface SummaryFooter {
  /** Wall-clock time of the whole command (null with timing off). */
  readonly elapsedMs: number | null;
  readonly workers?: number;
}

export function formatSummary(summaries: readonly SuiteSummary[], footer: SummaryFooter): string {
  const total: SuiteSummary = {
    suite: 'total',
    claims: '',
    runs: sum(summaries, (s) => s.runs),
    failures: sum(summaries, (s) => s.failures),
    segments: sum(summaries, (s) => s.segments),
    virtualUs: sum(summaries, (s) => s.virtualUs),
    wallMs: summaries.some((s) => s.wallMs === null) ? null : sum(summaries, (s) => s.wallMs ?? 0),
  };
  const header = ['suite', 'claims', 'runs', 'failures', 'segments', 'virtual time', 'wall (runs)'];
  const cells = [...summaries, total].map((s) => [s.suite, s.claims, String(s.runs), String(s.failures), String(s.segments), formatVirtualTime(s.virtualUs), s.wallMs === null ? '-' : formatWall(s.wallMs)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const rightAligned = new Set([2, 3, 4, 5, 6]);
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const lines = [line(header), rule, ...cells.slice(0, -1).map(line), rule, line(cells[cells.length - 1]!)];
  if (footer.elapsedMs !== null) lines.push('', `elapsed ${formatWall(footer.elapsedMs)}${footer.workers !== undefined ? ` on ${footer.workers} worker thread${footer.workers === 1 ? '' : 's'}` : ''}${total.runs > 0 && footer.elapsedMs > 0 ? `, ${Math.round((total.runs * 1000) / footer.elapsedMs)} runs/s` : ''}`);
  return `${lines.join('\n')}\n`;
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `3 h 12 min`. */
export function formatVirtualTime(us: number): string {
  const ms = us / 1000;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const totalSeconds = Math.round(s);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)} min ${String(totalSeconds % 60).padStart(2, '0')} s`;
  const minutes = Math.round(totalSeconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

export function formatWall(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}
