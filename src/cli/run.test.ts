/**
 * `timewait run` in-process: the summary table, the CSV, the exit codes, failures told in
 * STYLE.md's order with a replay command that works, and the failing-seed store tried first.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { main } from './main.js';
import { RUN_COLUMNS } from './rows.js';
import { runMain, tempDir } from './test-support.js';

describe('timewait run', () => {
  it('runs the named suites, prints the summary table and writes reports/campaign.csv and summary.txt (exit 0)', async () => {
    // Arrange
    const dir = tempDir();
    // Act
    const result = await runMain(['run', 'close-shape', 'handshake', '--runs', '60', '--seed', '11', '--workers', '1', '--reports-dir', dir]);
    // Assert
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^timewait run: 2 suites \(handshake 60, close-shape 60\), endpoint reference, seed 11\n/);
    expect(result.stdout).toContain('this campaign again: timewait run handshake close-shape --seed 11 --runs 60');
    expect(result.stdout).toMatch(/suite\s+claims\s+runs\s+failures\s+segments\s+virtual time\s+wall \(runs\)/);
    expect(result.stdout).toMatch(/handshake\s+C1 C2 C3 C4\s+60\s+0\s+\d+/);
    expect(result.stdout).toMatch(/total\s+120\s+0\s+\d+/);
    const csv = parseCsv(readFileSync(join(dir, 'campaign.csv'), 'utf8'));
    expect(csv.header).toEqual(RUN_COLUMNS.map((c) => c.key));
    expect(csv.records).toHaveLength(120);
    // Suites in SUITES order, chunk by chunk, runs numbered in each chunk.
    const at = (row: readonly string[], key: string) => row[csv.header.indexOf(key)];
    expect(csv.records.slice(0, 2).map((r) => [at(r, 'suite'), at(r, 'chunk'), at(r, 'path')])).toEqual([
      ['handshake', '0', '0'],
      ['handshake', '0', '1'],
    ]);
    expect(at(csv.records[50]!, 'chunk')).toBe('1');
    expect(at(csv.records[50]!, 'path')).toBe('0');
    expect(csv.records.every((r) => at(r, 'violations') === '0')).toBe(true);
    expect(readFileSync(join(dir, 'summary.txt'), 'utf8')).toMatch(/^timewait run handshake close-shape --seed 11 --runs 60\n\nsuite/);
  });

  it('TIMEWAIT_RUNS_SCALE scales the default run counts; --runs overrides them', async () => {
    // Act
    const scaled = await runMain(['run', 'close-shape', '--seed', '3', '--workers', '1', '--no-reports', '--no-store'], { env: { TIMEWAIT_RUNS_SCALE: '0.01' } });
    const explicit = await runMain(['run', 'close-shape', '--seed', '3', '--runs', '7', '--workers', '1', '--no-reports', '--no-store'], { env: { TIMEWAIT_RUNS_SCALE: '0.01' } });
    // Assert
    expect(scaled.stdout).toMatch(/\(close-shape 5\)/);
    expect(explicit.stdout).toMatch(/\(close-shape 7\)/);
    expect(explicit.code).toBe(0);
  });

  it('a mutant fails (exit 1): invariant and claim, scenario, trace, { seed, path }, replay command, in that order; the replay command reproduces it', async () => {
    // Arrange
    const dir = tempDir();
    // Act
    const result = await runMain(['run', 'close', '--runs', '50', '--seed', '5', '--workers', '1', '--endpoint', 'no-time-wait', '--reports-dir', dir]);
    // Assert: the parts of the report, in order.
    expect(result.code).toBe(1);
    const out = result.stdout;
    const order = ['FAIL close against no-time-wait', 'Invariant broken: time-wait-side (C8, C11)', 'Scenario:', 'Trace up to the violation:', '>> ', '{ seed: ', 'replay: timewait replay --suite close --seed', 'saved: '];
    const positions = order.map((part) => out.indexOf(part));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // The tcpdump-style trace around the violation.
    expect(out).toMatch(/\d+\.\d{6} 10\.0\.0\.\d+\.\d+ > 10\.0\.0\.\d+\.\d+: Flags \[F\.\], seq \d+/);
    // The counterexample file and the store.
    const saved = /saved: (\S+)/.exec(out)![1]!;
    const file = JSON.parse(readFileSync(saved, 'utf8'));
    expect(file).toMatchObject({ format: 'timewait-counterexample', suite: 'close', endpoint: 'no-time-wait' });
    const store = JSON.parse(readFileSync(join(dir, 'failing-seeds.json'), 'utf8'));
    expect(store.entries).toEqual([{ suite: 'close', endpoint: 'no-time-wait', seed: file.seed, path: file.path, monitor: 'time-wait-side' }]);
    // The printed command replays the failure.
    const command = /replay: timewait (replay .*)/.exec(out)![1]!.split(' ');
    const replayed = await runMain(command);
    expect(replayed.code).toBe(1);
    expect(replayed.stdout).toContain('time-wait-side (C8, C11) violated');
  });

  it('tries the stored failing seeds first on the next run of that suite and endpoint, and drops those that pass', async () => {
    // Arrange: a failing campaign fills the store.
    const dir = tempDir();
    await runMain(['run', 'close', '--runs', '50', '--seed', '5', '--workers', '1', '--endpoint', 'no-time-wait', '--reports-dir', dir]);
    const stored = JSON.parse(readFileSync(join(dir, 'failing-seeds.json'), 'utf8')).entries[0];
    // Act: the same suite and endpoint, another campaign seed.
    const again = await runMain(['run', 'close', '--runs', '50', '--seed', '6', '--workers', '1', '--endpoint', 'no-time-wait', '--reports-dir', dir]);
    // Assert: the stored seed is retried before the campaign, and still fails.
    expect(again.code).toBe(1);
    const retry = again.stdout.indexOf(`retrying 1 stored failing seed first`);
    expect(retry).toBeGreaterThan(0);
    expect(again.stdout).toContain(`close seed ${stored.seed} path ${stored.path}: still fails (time-wait-side)`);
    expect(retry).toBeLessThan(again.stdout.indexOf('FAIL close against no-time-wait (chunk'));
    // Against the reference endpoint it is not tried (another key).
    const reference = await runMain(['run', 'close', '--runs', '20', '--seed', '6', '--workers', '1', '--reports-dir', dir]);
    expect(reference.stdout).not.toContain('retrying');
    expect(reference.code).toBe(0);
    // An entry that passes now (the bug was fixed) is dropped; the others stay.
    const storePath = join(dir, 'failing-seeds.json');
    const store = JSON.parse(readFileSync(storePath, 'utf8'));
    const fixed = { suite: 'close', endpoint: 'reference', seed: stored.seed, path: stored.path, monitor: 'time-wait-side' };
    writeFileSync(storePath, JSON.stringify({ ...store, entries: [...store.entries, fixed] }));
    const after = await runMain(['run', 'close', '--runs', '20', '--seed', '6', '--workers', '1', '--reports-dir', dir]);
    expect(after.stdout).toContain(`close seed ${stored.seed} path ${stored.path}: passes now; dropped from the store`);
    expect(JSON.parse(readFileSync(storePath, 'utf8')).entries).toEqual(store.entries);
  });

  it('--no-reports writes nothing; --csv FILE --per-connection writes the run and connection CSVs', async () => {
    // Arrange
    const dir = tempDir();
    // Act
    const none = await runMain(['run', 'close-shape', '--runs', '10', '--seed', '1', '--workers', '1', '--no-reports', '--no-store', '--reports-dir', join(dir, 'r')]);
    const csv = await runMain(['run', 'close-shape', '--runs', '10', '--seed', '1', '--workers', '1', '--no-store', '--no-reports', '--per-connection', '--csv', join(dir, 'out.csv')]);
    // Assert
    expect(none.code).toBe(0);
    expect(existsSync(join(dir, 'r'))).toBe(false);
    expect(csv.code).toBe(0);
    expect(parseCsv(readFileSync(join(dir, 'out.csv'), 'utf8')).records).toHaveLength(10);
    const connections = parseCsv(readFileSync(join(dir, 'out-connections.csv'), 'utf8'));
    expect(connections.header.slice(0, 9)).toEqual(['suite', 'endpoint', 'chunk', 'seed', 'path', 'campaign', 'shard', 'conn_id', 'host']);
    expect(connections.records.length).toBeGreaterThanOrEqual(20);
  });

  it('timewait list shows the suites with their claims, the monitors and the endpoints', async () => {
    // Act
    const result = await runMain(['list']);
    // Assert
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/time-wait\s+C8 C9 C10 C11 C12\s+\d+ runs/);
    expect(result.stdout).toMatch(/time-wait-side\s+C8, C11/);
    expect(result.stdout).toMatch(/no-time-wait\s+the active closer skips TIME-WAIT \(caught by time-wait-side\)/);
  });

  it('Ctrl-C (the abort signal) stops after the chunk in progress and still writes what finished (exit 130)', async () => {
    // Arrange: abort as soon as the campaign starts.
    const dir = tempDir();
    const controller = new AbortController();
    const promise = runMain(['run', 'handshake', '--runs', '500', '--seed', '2', '--workers', '1', '--no-store', '--reports-dir', dir], { signal: controller.signal });
    setImmediate(() => controller.abort());
    // Act
    const result = await promise;
    // Assert
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/interrupted: \d+ of 10 chunks finished/);
    const csv = parseCsv(readFileSync(join(dir, 'campaign.csv'), 'utf8'));
    expect(csv.records.length % 50).toBe(0);
    expect(csv.records.length).toBeLessThan(500);
  });

  it('shows a progress bar when stdout is a terminal, and none otherwise', async () => {
    // Arrange: a fake terminal.
    let tty = '';
    const terminal = { isTTY: true, columns: 100, write: (text: string) => ((tty += text), true), cursorTo: () => true, clearLine: () => true, moveCursor: () => true };
    const args = ['run', 'close-shape', '--runs', '100', '--seed', '4', '--workers', '1', '--no-reports', '--no-store'];
    // Act
    const code = await main(args, { stdout: terminal, stderr: { write: () => true }, env: {}, cwd: tempDir(), invocation: 'timewait' });
    const plain = await runMain(args);
    // Assert
    expect(code).toBe(0);
    expect(tty).toMatch(/running .* \d+\/100 runs \| 0 failed/);
    expect(plain.stdout).not.toContain('running');
  });
});
