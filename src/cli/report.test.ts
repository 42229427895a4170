import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suiteArbitrary, suiteByName } from '../suites.js';
import { planCampaign, runCampaign, specAt, type CampaignResult } from './campaign.js';
import { writeCampaignReport, writeReplayReport } from './report.js';
import { replayRun } from './replay.js';
import { runMain, tempDir } from './test-support.js';

describe('--report: the HTML report of a campaign and of a replay', () => {
  let dir = '';
  let result: CampaignResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'timewait-cli-report-'));
    // A campaign against a mutant of the zoo, as `timewait run time-wait --endpoint no-time-wait` runs it.
    const plan = planCampaign({ suites: [suiteByName('time-wait')!], runs: 60, seed: 7, endpoint: 'no-time-wait', perConnection: true, timing: false });
    result = await runCampaign(plan, { workers: 1 });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a chunk's runs are fast-check's first values for its seed, as replay finds them", () => {
    // Arrange
    const chunk = result.chunks[0]!;
    const suite = suiteByName(chunk.task.suite)!;
    // Act
    const specs = fc.sample(suiteArbitrary(suite), { seed: chunk.task.seed, numRuns: chunk.rows.length });
    // Assert
    for (const k of [0, Math.floor(chunk.rows.length / 2), chunk.rows.length - 1]) expect(specs[k]).toEqual(specAt(suite, chunk.task.seed, String(k)));
  });

  it('run: summary, each failure with its replay command and a ladder marking the violation, every plot', () => {
    // Act
    const file = writeCampaignReport(join(dir, 'run'), result, { generatedBy: 'timewait run time-wait --runs 60 --seed 7 --endpoint no-time-wait --report out', invocation: 'timewait', endpoint: 'no-time-wait' });
    const html = readFileSync(file, 'utf8');
    // Assert
    expect(result.failures.length).toBeGreaterThan(0);
    const failure = result.failures[0]!;
    expect(html).toContain('>time-wait</th>');
    expect(html).toContain(`timewait replay --suite time-wait ${failure.seed < 0 ? `--seed=${failure.seed}` : `--seed ${failure.seed}`} --path ${failure.path} --endpoint no-time-wait`);
    expect(html.split('class="ladder"').length - 1).toBe(Math.min(3, result.failures.length));
    expect(html).toContain('VIOLATION: time-wait-side (C8, C11)');
    for (const id of ['plot-close-kinds', 'plot-time-wait', 'plot-retransmissions', 'plot-segments', 'plot-state-diagram']) expect(html).toContain(`id="${id}"`);
    // The runs' MSLs were found (2·MSL lines drawn), and the mutant never enters TIME-WAIT: the
    // one empty plot is that one.
    const timeWait = html.slice(html.indexOf('id="plot-time-wait"'), html.indexOf('</svg>', html.indexOf('id="plot-time-wait"')));
    expect(timeWait).toContain('class="reference"');
    expect(timeWait).toContain('class="no-data"');
    expect(html.split('class="no-data"').length - 1).toBe(1);
  });

  it('replay: one run, its ladder when it fails', () => {
    // Arrange
    const failure = result.failures[0]!;
    const replayed = replayRun({ suite: failure.suite, seed: failure.seed, path: failure.path, endpoint: failure.endpoint });
    // Act
    const html = readFileSync(writeReplayReport(join(dir, 'replay'), replayed, { generatedBy: 'timewait replay …', invocation: 'timewait' }), 'utf8');
    // Assert
    expect(html).toContain('<article class="failure" id="failure-1">');
    expect(html).toContain('VIOLATION: time-wait-side (C8, C11)');
    expect(html.split('class="ladder"').length - 1).toBe(1);
  });

  it('timewait run --report DIR and timewait replay --report DIR write DIR/report.html', async () => {
    // Arrange
    const out = tempDir();
    try {
      // Act
      const run = await runMain(['run', 'time-wait', '--runs', '20', '--seed', '7', '--endpoint', 'no-time-wait', '--workers', '1', '--no-store', '--no-reports', '--report', join(out, 'run')]);
      const failure = /replay: (timewait replay [^\n]+)/.exec(run.stdout)![1]!.split(' ').slice(2);
      const replay = await runMain(['replay', ...failure, '--format', 'json', '--report', join(out, 'replay')]);
      // Assert
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(`wrote ${join(out, 'run', 'report.html')}`);
      const html = readFileSync(join(out, 'run', 'report.html'), 'utf8');
      expect(html).toContain('timewait run time-wait --seed 7 --runs 20 --endpoint no-time-wait --report');
      expect(html).toContain('VIOLATION: time-wait-side (C8, C11)');
      expect(replay.code).toBe(1);
      expect(replay.stderr).toBe(`wrote ${join(out, 'replay', 'report.html')}\n`);
      // stdout is still the JSON-lines trace, whole.
      for (const line of replay.stdout.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
      const page = readFileSync(join(out, 'replay', 'report.html'), 'utf8');
      expect(page).toContain('<svg id="failure-1-ladder" class="ladder"');
      expect(page).toContain(`${failure.join(' ')} --report`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
