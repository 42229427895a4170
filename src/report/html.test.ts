import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { executeRun } from '../scenario/execute.js';
import { SUITES } from '../suites.js';
import { DIAGRAM_EDGES } from '../tcp/state.js';
import { buildReportData, defaultReplayCommand, ReportCollector, runRowOf, writeHtmlReport } from './campaign-report.js';
import { exampleCampaign, exampleReportData, mutantCounterexample } from './example-report.js';
import { renderHtmlReport, type ReportData } from './html.js';
import { DRAWN_EDGES } from './state-diagram.js';

const PLOT_IDS = ['plot-close-kinds', 'plot-time-wait', 'plot-retransmissions', 'plot-segments', 'plot-state-diagram'];

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The text inside the element that starts at `open`, up to its matching closing tag `</tag>`. */
function elementAt(html: string, open: string, tag: string): string {
  const start = html.indexOf(open);
  expect(start, open).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf(`</${tag}>`, start) + tag.length + 3);
}

describe('renderHtmlReport: a campaign with a mutant counterexample', () => {
  let data: ReportData;
  let html: string;

  beforeAll(() => {
    data = exampleReportData();
    html = renderHtmlReport(data);
  });

  it('is one HTML document with every section, and nothing to fetch or run', () => {
    // Assert
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    for (const id of ['summary', 'failures', 'campaign', 'coverage']) expect(count(html, `<section id="${id}">`), id).toBe(1);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(http/i);
    // The only URL is SVG's namespace.
    expect([...html.matchAll(/https?:\/\/[^"\s]+/g)].map((m) => m[0]).filter((url) => url !== 'http://www.w3.org/2000/svg')).toEqual([]);
    expect(html).not.toContain('<?xml');
  });

  it('has a summary row per suite and a total', () => {
    // Arrange
    const table = elementAt(html, '<table class="summary">', 'table');
    // Assert
    for (const suite of SUITES) expect(table).toContain(`>${suite.name}</th>`);
    expect(table).toContain('<tr class="total">');
    const runs = data.summary.reduce((sum, row) => sum + row.runs, 0);
    expect(runs).toBe(data.runs.length);
    expect(table).toContain(`<td class="num">${runs}</td>`);
  });

  it('shows each failure with its replay command, {seed, path}, scenario and one ladder with the violation marked', () => {
    // Arrange
    const failure = data.failures[0]!;
    const article = elementAt(html, '<article class="failure" id="failure-1">', 'article');
    // Assert
    expect(data.failures).toHaveLength(1);
    expect(count(html, '<article class="failure"')).toBe(1);
    expect(count(html, 'class="ladder"')).toBe(1);
    expect(article).toContain('Invariant broken: time-wait-side (C8, C11)');
    expect(article).toContain(`{ seed: ${failure.seed}, path: &quot;${failure.path}&quot; }`);
    expect(article).toContain(`timewait replay --suite time-wait --seed ${failure.seed} --path ${failure.path} --endpoint no-time-wait`);
    expect(article).toContain('connection 1: client1 -&gt; server1:8000');
    const ladder = elementAt(article, '<svg id="failure-1-ladder" class="ladder"', 'svg');
    expect(count(ladder, '<g class="violation">')).toBe(1);
    expect(ladder).toContain('VIOLATION: time-wait-side (C8, C11)');
    // Arrowhead ids made unique within the page, and every reference resolves.
    expect(ladder).toContain('id="failure-1-head-normal"');
    for (const [, ref] of html.matchAll(/url\(#([^)]+)\)/g)) expect(html, ref).toContain(`id="${ref}"`);
  });

  it('draws an SVG per plot, with data in each', () => {
    // Assert
    for (const id of PLOT_IDS) expect(count(html, `<svg xmlns="http://www.w3.org/2000/svg" id="${id}"`), id).toBe(1);
    expect(count(html, '<svg ')).toBe(PLOT_IDS.length + data.failures.length);
    expect(count(elementAt(html, '<svg xmlns="http://www.w3.org/2000/svg" id="plot-close-kinds"', 'svg'), 'class="bar"')).toBeGreaterThan(0);
    expect(count(elementAt(html, '<svg xmlns="http://www.w3.org/2000/svg" id="plot-time-wait"', 'svg'), 'class="reference"')).toBeGreaterThan(0);
    expect(count(elementAt(html, '<svg xmlns="http://www.w3.org/2000/svg" id="plot-retransmissions"', 'svg'), 'class="point"')).toBeGreaterThan(0);
    expect(count(elementAt(html, '<svg xmlns="http://www.w3.org/2000/svg" id="plot-segments"', 'svg'), 'class="bar"')).toBeGreaterThan(0);
    expect(html).not.toContain('class="no-data"');
  });

  it("labels each edge of RFC 9293's diagram with its count, greying the untaken ones", () => {
    // Arrange
    const diagram = elementAt(html, '<svg xmlns="http://www.w3.org/2000/svg" id="plot-state-diagram"', 'svg');
    const counts = new Map(data.coverage.map((c) => [c.edge as string, c.count]));
    // Assert: 11 states (CLOSED twice, as in Figure 5), every drawn edge labelled with its count.
    expect(count(diagram, '<g class="state"')).toBe(12);
    expect(count(diagram, '<text class="edge-label"')).toBe(DRAWN_EDGES.length);
    for (const edge of DRAWN_EDGES) {
      const escaped = edge.replace('>', '&gt;');
      const taken = counts.get(edge) ?? 0;
      expect(diagram, edge).toMatch(new RegExp(`<text class="edge-label" data-edge="${escaped}"[^>]*><tspan class="count"[^>]*>${taken}</tspan>`));
      expect(diagram, edge).toContain(`<g class="edge ${taken > 0 ? 'taken' : 'untaken'}" data-edge="${escaped}">`);
    }
    const takenInFigure = DIAGRAM_EDGES.filter((edge) => (counts.get(edge) ?? 0) > 0).length;
    expect(diagram).toContain(`${takenInFigure} of ${DIAGRAM_EDGES.length} edges of Figure 5 taken`);
    // Edges outside the figure are in the table beside it.
    expect(elementAt(html, '<table class="edges">', 'table')).toContain('ESTABLISHED → CLOSED');
  });

  it('is deterministic: the same campaign gives the same bytes', () => {
    // Act: the whole pipeline again, from fast-check's seed to the HTML.
    const again = renderHtmlReport(exampleReportData());
    // Assert
    expect(again).toBe(html);
    expect(renderHtmlReport(data)).toBe(html);
  });
});

describe('renderHtmlReport: escaping', () => {
  it('escapes every text it prints', () => {
    // Arrange: hostile text in every free-text field.
    const evil = `<script>alert("x")</script> & 'q'`;
    const failure = mutantCounterexample('no-time-wait', 'time-wait');
    const base = buildReportData({ generatedBy: 'x', runs: [{ suite: evil, outcome: failure.outcome }], failures: [{ ...failure, suite: evil, replayCommand: `timewait replay ${evil}` }] });
    const data: ReportData = {
      ...base,
      title: evil,
      generatedBy: `timewait run --report '${evil}'`,
      generatedAt: evil,
      endpoint: evil,
      summary: base.summary.map((row) => ({ ...row, claims: [evil], description: evil })),
      failures: base.failures.map((f) => ({ ...f, endpoint: evil, violations: [evil], scenario: evil, path: evil, marker: { atUs: f.marker.atUs, label: evil }, traceExcerpt: evil })),
    };
    // Act
    const html = renderHtmlReport(data);
    // Assert
    expect(html).not.toContain('<script');
    expect(html).not.toContain('"x")');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
    expect(count(html, '&lt;script&gt;')).toBeGreaterThan(10);
  });
});

describe('renderHtmlReport: nothing to show', () => {
  it('renders an empty campaign with placeholders instead of plots', () => {
    // Act
    const html = renderHtmlReport(buildReportData({ generatedBy: 'timewait run --runs 0', runs: [] }));
    // Assert
    expect(html).toContain('No suites ran.');
    expect(html).toContain('No monitor was violated.');
    expect(count(html, 'class="no-data"')).toBe(4);
    expect(count(html, '<g class="edge untaken"')).toBe(DRAWN_EDGES.length);
  });
});

describe('a real mutant counterexample', () => {
  it('no-time-wait: the time-wait suite finds it, shrinks it, and its report marks the violation on the ladder', () => {
    // Arrange: what `timewait run --suite time-wait --endpoint no-time-wait --report DIR` does.
    const failure = mutantCounterexample('no-time-wait', 'time-wait');
    // Act
    const data = buildReportData({ title: 'no-time-wait', generatedBy: 'test', runs: [{ suite: 'time-wait', outcome: failure.outcome }], failures: [failure] });
    const html = renderHtmlReport(data);
    // Assert: a shrunk run (one connection), caught by the TIME-WAIT monitor, passed by the reference.
    expect(failure.outcome.failed).toBe(true);
    expect(failure.spec.connections).toHaveLength(1);
    expect(executeRun(failure.spec).failed).toBe(false);
    const marker = data.failures[0]!.marker;
    expect(marker.label).toMatch(/^time-wait-side \(C8, C11\): /);
    expect(html).toContain(`VIOLATION: ${marker.label.replace(/>/g, '&gt;')}`);
    // The active closer's lifeline shows FIN-WAIT-2 going straight to CLOSED, and no TIME-WAIT bar.
    const ladder = elementAt(html, '<svg id="failure-1-ladder"', 'svg');
    expect(ladder).toContain('>FIN-WAIT-2</text>');
    expect(ladder).not.toContain('class="time-wait"');
    expect(html).toContain('<summary>Trace up to the violation</summary>');
    expect(html).toContain('&gt;&gt; ');
  });
});

describe('buildReportData and writeHtmlReport', () => {
  it('adds up per-suite rows from the runs', () => {
    // Arrange
    const runs = exampleCampaign({ runsPerSuite: 3 });
    // Act
    const data = buildReportData({ generatedBy: 't', runs });
    // Assert
    expect(data.summary.map((row) => row.suite)).toEqual(SUITES.map((s) => s.name));
    for (const row of data.summary) {
      const mine = runs.filter((r) => r.suite === row.suite).map((r) => r.outcome);
      expect(row.runs).toBe(3);
      expect(row.segmentsSent).toBe(mine.reduce((sum, o) => sum + o.stats.segmentsSent, 0));
      expect(row.retransmissions).toBe(mine.reduce((sum, o) => sum + o.stats.retransmissions, 0));
      expect(row.claims).toEqual(SUITES.find((s) => s.name === row.suite)!.claims);
    }
    expect(data.runs.flatMap((r) => r.segmentsPerConnection).length).toBe(runs.reduce((sum, r) => sum + r.outcome.connections.length, 0));
    const edgeTotal = data.coverage.reduce((sum, c) => sum + c.count, 0);
    expect(edgeTotal).toBe(runs.reduce((sum, r) => sum + [...r.outcome.coverage.counts.values()].reduce((a, b) => a + b, 0), 0));
  });

  it('gives the same report from rows and edge counts as from the outcomes', () => {
    // Arrange: what a caller that keeps only numbers (the CLI's campaign) would hand over.
    const runs = exampleCampaign({ runsPerSuite: 2 });
    const fromRows = new ReportCollector({ generatedBy: 't' });
    for (const { suite, outcome } of runs) {
      fromRows.addRunRow(runRowOf(suite, outcome));
      fromRows.addCoverage(suite, [...outcome.coverage.counts]);
    }
    // Act / Assert
    expect(renderHtmlReport(fromRows.build())).toBe(renderHtmlReport(buildReportData({ generatedBy: 't', runs })));
  });

  it('refuses a failure that did not fail or was not recorded', () => {
    // Arrange
    const collector = new ReportCollector({ generatedBy: 't' });
    const failure = mutantCounterexample('no-time-wait', 'time-wait');
    // Act / Assert
    expect(() => collector.addFailure({ ...failure, outcome: executeRun(failure.spec) })).toThrow(/did not fail/);
    expect(() => collector.addFailure({ ...failure, outcome: executeRun(failure.spec, { endpoint: failure.mutant.endpoint }) })).toThrow(/record: true/);
  });

  it('quotes replay command words a shell would split', () => {
    expect(defaultReplayCommand({ suite: 'time-wait', seed: -12, path: '3:1:0' })).toBe('timewait replay --suite time-wait --seed=-12 --path 3:1:0');
    expect(defaultReplayCommand({ suite: "it's odd", seed: 1, path: '' })).toBe(`timewait replay --suite 'it'\\''s odd' --seed 1 --path ''`);
  });

  it('writes DIR/report.html through a temporary file, creating DIR', () => {
    // Arrange
    const root = mkdtempSync(join(tmpdir(), 'timewait-html-'));
    const dir = join(root, 'nested', 'out');
    const data = buildReportData({ generatedBy: 't', runs: exampleCampaign({ runsPerSuite: 1 }) });
    try {
      // Act
      const file = writeHtmlReport(dir, data);
      writeHtmlReport(dir, data);
      // Assert
      expect(file).toBe(join(dir, 'report.html'));
      expect(readFileSync(file, 'utf8')).toBe(renderHtmlReport(data));
      expect(readdirSync(dir)).toEqual(['report.html']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    expect(existsSync(dir)).toBe(false);
  });
});
