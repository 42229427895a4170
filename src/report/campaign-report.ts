/**
 * From a campaign's runs to the HTML report: `buildReportData` (or, run by run, a
 * `ReportCollector`) turns `RunOutcome`s and the shrunk failures into `ReportData`, and
 * `writeHtmlReport` writes `DIR/report.html` atomically. This is what `timewait run --report
 * DIR` and `timewait replay --report DIR` call.
 *
 * Only reads outcomes and traces; nothing here runs a simulation.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeCoverage } from '../check/coverage.js';
import { formatViolation, traceAround } from '../check/report.js';
import type { RunOutcome } from '../scenario/execute.js';
import { describeRunSpec } from '../scenario/spec.js';
import { SUITES, type Suite } from '../suites.js';
import { DIAGRAM_EDGES, type Edge } from '../tcp/state.js';
import { renderHtmlReport, type CloseCounts, type EdgeCount, type FailureReport, type ReportData, type RunRow, type SummaryRow } from './html.js';

export interface CampaignRun {
  readonly suite: string;
  readonly outcome: RunOutcome;
}

export interface CampaignFailure {
  readonly suite: string;
  /** fast-check's seed and counterexample path: `{ seed, path }` replays it. */
  readonly seed: number;
  readonly path: string;
  /** The shrunk counterexample run again with `record: true`, so its trace is there. */
  readonly outcome: RunOutcome;
  /** The endpoint under test, when not the reference one (goes into the replay command). */
  readonly endpoint?: string;
  /** Default: `timewait replay --suite S --seed N --path P [--endpoint E]`. */
  readonly replayCommand?: string;
}

export interface ReportHeader {
  /** Default: `timewait report`. */
  readonly title?: string;
  /** The command line, as the user typed it. */
  readonly generatedBy: string;
  /** Left out by default so that the same campaign gives the same bytes. */
  readonly generatedAt?: string;
  readonly endpoint?: string;
  /** Where suite claims and descriptions come from (default: `SUITES`). */
  readonly suites?: readonly Suite[];
}

export interface ReportInput extends ReportHeader {
  readonly runs: Iterable<CampaignRun>;
  readonly failures?: readonly CampaignFailure[];
}

/** The report's data from the whole campaign at once. */
export function buildReportData(input: ReportInput): ReportData {
  const collector = new ReportCollector(input);
  for (const run of input.runs) collector.addRun(run.suite, run.outcome);
  for (const failure of input.failures ?? []) collector.addFailure(failure);
  return collector.build();
}

/** Writes `dir/report.html` (creating `dir`) through a temporary file and a rename; returns its path. */
export function writeHtmlReport(dir: string, data: ReportData): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.html');
  const temporary = join(dir, `.report.html.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, renderHtmlReport(data));
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return file;
}

/** The default replay command for a failure. */
export function defaultReplayCommand(failure: { suite: string; seed: number; path: string; endpoint?: string }): string {
  // A negative seed goes with `=`, or the option parser would read it as an option.
  const seed = failure.seed < 0 ? [`--seed=${failure.seed}`] : ['--seed', String(failure.seed)];
  const words = ['timewait', 'replay', '--suite', failure.suite, ...seed, '--path', failure.path];
  if (failure.endpoint !== undefined) words.push('--endpoint', failure.endpoint);
  return words.map(shellWord).join(' ');
}

/**
 * Collects a campaign run by run, keeping only the numbers the report needs (no traces but the
 * failures'), so a long campaign need not hold its outcomes.
 */
export class ReportCollector {
  private readonly suites = new Map<string, SuiteTotals>();
  private readonly runs: RunRow[] = [];
  private readonly failures: FailureReport[] = [];
  private readonly coverage = new EdgeCoverage();

  constructor(private readonly header: ReportHeader) {}

  /** A run, from its outcome. */
  addRun(suite: string, outcome: RunOutcome): void {
    this.addRunRow(runRowOf(suite, outcome));
    this.addCoverage(suite, outcome.coverage.counts);
  }

  /**
   * A run told by numbers only, for callers that keep no `RunOutcome` (the CLI's campaign keeps
   * its CSV rows); give its edge counts with `addCoverage`.
   */
  addRunRow(row: RunRow): void {
    this.runs.push(row);
    const totals = this.totalsOf(row.suite);
    totals.runs++;
    if (row.failed) totals.failedRuns++;
    totals.connections += row.connections;
    totals.segmentsSent += row.segmentsSent;
    totals.segmentsLost += row.segmentsLost;
    totals.retransmissions += row.retransmissions;
    totals.threeSegment += row.closes.threeSegment;
    totals.fourSegment += row.closes.fourSegment;
    totals.simultaneous += row.closes.simultaneous;
    totals.abort += row.closes.abort;
    totals.timeWaitEntries += row.timeWaitEntries;
  }

  /** Edge counts of some of a suite's runs (`EdgeCoverage.counts`, or a chunk's pairs). */
  addCoverage(suite: string, counts: Iterable<readonly [string, number]>): void {
    const totals = this.totalsOf(suite);
    for (const [edge, count] of counts) {
      totals.coverage.add(edge as Edge, count);
      this.coverage.add(edge as Edge, count);
    }
  }

  addFailure(failure: CampaignFailure): void {
    const outcome = failure.outcome;
    if (!outcome.failed) throw new Error(`addFailure: the run of ${failure.suite} seed ${failure.seed} did not fail`);
    if (outcome.events === undefined) throw new Error('addFailure: run the counterexample again with record: true so its trace can be drawn');
    const first = outcome.violations[0]!;
    this.totalsOf(failure.suite);
    this.failures.push({
      suite: failure.suite,
      ...(failure.endpoint !== undefined ? { endpoint: failure.endpoint } : {}),
      violations: outcome.violations.map(formatViolation),
      marker: { atUs: first.atUs, label: `${first.monitor} (${first.claims.join(', ')}): ${first.message}` },
      scenario: describeRunSpec(outcome.spec),
      seed: failure.seed,
      path: failure.path,
      replayCommand: failure.replayCommand ?? defaultReplayCommand(failure),
      events: outcome.events,
      traceExcerpt: traceAround(outcome.events, first.eventIndex),
    });
  }

  build(): ReportData {
    const known = new Map((this.header.suites ?? SUITES).map((s) => [s.name, s]));
    const summary: SummaryRow[] = [...this.suites].map(([name, t]) => ({
      suite: name,
      claims: known.get(name)?.claims ?? [],
      description: known.get(name)?.description ?? '',
      runs: t.runs,
      failedRuns: t.failedRuns,
      connections: t.connections,
      segmentsSent: t.segmentsSent,
      segmentsLost: t.segmentsLost,
      retransmissions: t.retransmissions,
      closes: { threeSegment: t.threeSegment, fourSegment: t.fourSegment, simultaneous: t.simultaneous, abort: t.abort },
      timeWaitEntries: t.timeWaitEntries,
      diagramEdgesCovered: DIAGRAM_EDGES.filter((edge) => (t.coverage.counts.get(edge) ?? 0) > 0).length,
    }));
    // Timer counts (`timer:<kind>`) travel with the edges; the HTML lists them in a table of their own.
    const coverage: EdgeCount[] = [...this.coverage.counts].map(([edge, count]) => ({ edge: edge as Edge, count }));
    return {
      title: this.header.title ?? 'timewait report',
      generatedBy: this.header.generatedBy,
      ...(this.header.generatedAt !== undefined ? { generatedAt: this.header.generatedAt } : {}),
      ...(this.header.endpoint !== undefined ? { endpoint: this.header.endpoint } : {}),
      summary,
      runs: this.runs.slice(),
      coverage,
      failures: this.failures.slice(),
    };
  }

  private totalsOf(suite: string): SuiteTotals {
    let totals = this.suites.get(suite);
    if (totals === undefined) {
      totals = {
        runs: 0,
        failedRuns: 0,
        connections: 0,
        segmentsSent: 0,
        segmentsLost: 0,
        retransmissions: 0,
        threeSegment: 0,
        fourSegment: 0,
        simultaneous: 0,
        abort: 0,
        timeWaitEntries: 0,
        coverage: new EdgeCoverage(),
      };
      this.suites.set(suite, totals);
    }
    return totals;
  }
}

/** One run's plot data. */
export function runRowOf(suite: string, outcome: RunOutcome): RunRow {
  const stats = outcome.stats;
  const closes: CloseCounts = {
    threeSegment: stats.closesThreeSegment,
    fourSegment: stats.closesFourSegment,
    simultaneous: stats.closesSimultaneous,
    abort: stats.closesAbort,
  };
  return {
    suite,
    seed: outcome.spec.seed,
    failed: outcome.failed,
    mslUs: outcome.spec.mslUs,
    lossPermille: outcome.spec.faults.lossPermille,
    lossRate: stats.segmentsSent > 0 ? stats.segmentsLost / stats.segmentsSent : 0,
    connections: stats.connections,
    segmentsSent: stats.segmentsSent,
    segmentsLost: stats.segmentsLost,
    retransmissions: stats.retransmissions,
    closes,
    timeWaitEntries: stats.timeWaitEntries,
    // A connection still in TIME-WAIT when the run stopped has no length yet.
    timeWaitUs: outcome.connections.filter((c) => c.timeWaitEntries > 0 && c.finalState !== 'TIME-WAIT').map((c) => c.timeWaitUs),
    segmentsPerConnection: outcome.connections.map((c) => c.segmentsSent),
  };
}

interface SuiteTotals {
  runs: number;
  failedRuns: number;
  connections: number;
  segmentsSent: number;
  segmentsLost: number;
  retransmissions: number;
  threeSegment: number;
  fourSegment: number;
  simultaneous: number;
  abort: number;
  timeWaitEntries: number;
  coverage: EdgeCoverage;
}

/** A word as a POSIX shell reads it: bare when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w:.,/=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
