/**
 * The compiled CLI as a user runs it (`node dist/cli.js …`, built afresh for this file):
 * results identical whatever --workers and whatever --shard split (merged back with
 * `timewait merge`), replays byte-identical, and Ctrl-C stopping cleanly with whole files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { buildCli, filesIn, removeBuild, spawnCli, tempDir } from './test-support.js';

let cli = '';

beforeAll(() => {
  cli = buildCli();
}, 120_000);

afterAll(() => removeBuild(cli));

describe('the built CLI', () => {
  it('gives the same output and the same CSV with 1, 2 and 3 worker threads', async () => {
    // Arrange: three working directories at the same depth, so printed paths match.
    const dirs = [tempDir(), tempDir(), tempDir()];
    const args = ['run', '--seed', '424242', '--runs', '120', '--no-timing', '--no-store', '--per-connection'];
    // Act
    const results = await Promise.all(dirs.map((cwd, i) => spawnCli(cli, [...args, '--workers', String(i + 1)], { cwd })));
    // Assert
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    expect(results[1]!.stdout).toBe(results[0]!.stdout);
    expect(results[2]!.stdout).toBe(results[0]!.stdout);
    const csvs = dirs.map((d) => readFileSync(join(d, 'reports', 'campaign.csv'), 'utf8'));
    expect(parseCsv(csvs[0]!).records).toHaveLength(600);
    expect(csvs[1]).toBe(csvs[0]);
    expect(csvs[2]).toBe(csvs[0]);
    const connections = dirs.map((d) => readFileSync(join(d, 'reports', 'campaign-connections.csv'), 'utf8'));
    expect(connections[1]).toBe(connections[0]);
  }, 120_000);

  it('splits one campaign over shards; `timewait merge` joins them into the unsharded CSV, byte for byte', async () => {
    // Arrange
    const cwd = tempDir();
    const args = ['run', 'handshake', 'time-wait', '--seed', '77', '--runs', '130', '--no-timing', '--no-store', '--workers', '1', '--per-connection'];
    // Act
    const whole = await spawnCli(cli, [...args, '--csv', 'whole.csv'], { cwd });
    const shards = await Promise.all([0, 1, 2].map((i) => spawnCli(cli, [...args, '--shard', `${i}/3`], { cwd })));
    const merged = await spawnCli(cli, ['merge', ...[0, 1, 2].map((i) => `reports/campaign.shard-${i}-of-3.csv`), '--out', 'merged.csv'], { cwd });
    // Assert
    expect(whole.code).toBe(0);
    expect(shards.map((s) => s.code)).toEqual([0, 0, 0]);
    expect(shards[0]!.stdout).toMatch(/shard 0\/3: 2 chunks, 100 of the campaign's 260 runs/);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toMatch(/^merged 260 rows from 3 files into merged.csv\n/);
    expect(merged.stdout).toMatch(/total\s+260\s+0/);
    expect(readFileSync(join(cwd, 'merged.csv'), 'utf8')).toBe(readFileSync(join(cwd, 'whole.csv'), 'utf8'));
    // The per-connection files merge the same way.
    const connections = await spawnCli(cli, ['merge', ...[0, 1, 2].map((i) => `reports/campaign.shard-${i}-of-3-connections.csv`), '--out', 'merged-connections.csv'], { cwd });
    expect(connections.code).toBe(0);
    expect(readFileSync(join(cwd, 'merged-connections.csv'), 'utf8')).toBe(readFileSync(join(cwd, 'whole-connections.csv'), 'utf8'));
    // The same shard twice is refused.
    const twice = await spawnCli(cli, ['merge', 'reports/campaign.shard-0-of-3.csv', 'reports/campaign.shard-0-of-3.csv', '--out', 'bad.csv'], { cwd });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/is in both reports\/campaign.shard-0-of-3.csv and reports\/campaign.shard-0-of-3.csv: was a shard given twice\?/);
  }, 120_000);

  it('finds the same failure with any --workers, and its printed replay command prints the same bytes every time', async () => {
    // Arrange
    const dirs = [tempDir(), tempDir()];
    const args = ['run', 'time-wait', '--seed', '31', '--runs', '100', '--endpoint', 'no-time-wait', '--no-timing', '--no-store'];
    // Act
    const [one, two] = await Promise.all(dirs.map((cwd, i) => spawnCli(cli, [...args, '--workers', String(i + 1)], { cwd })));
    // Assert
    expect(one!.code).toBe(1);
    expect(two!.code).toBe(1);
    expect(two!.stdout).toBe(one!.stdout);
    const command = /^replay: node \S+ (replay .*)$/m.exec(one!.stdout)![1]!.split(' ');
    const replays = await Promise.all([spawnCli(cli, command), spawnCli(cli, command), spawnCli(cli, [...command, '--format', 'json'])]);
    expect(replays[0]!.code).toBe(1);
    expect(replays[1]!.stdout).toBe(replays[0]!.stdout);
    expect(replays[0]!.stdout).toContain('time-wait-side (C8, C11) violated');
    expect(replays[2]!.stdout.split('\n')[0]).toContain('"type":"replay"');
  }, 120_000);

  it('Ctrl-C stops the campaign cleanly: exit 130, the finished chunks in a whole CSV, no temporary files', async () => {
    // Arrange
    const cwd = tempDir();
    let sent = false;
    // Act: interrupt once the campaign has started.
    const result = await spawnCli(cli, ['run', '--seed', '5', '--runs', '100000', '--workers', '2', '--no-store'], {
      cwd,
      onStdout: (text, child) => {
        if (!sent && text.includes('this campaign again')) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 1500);
        }
      },
    });
    // Assert
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('timewait: interrupted; stopping and writing what finished');
    expect(result.stdout).toMatch(/interrupted: \d+ of 10000 chunks finished/);
    const csv = parseCsv(readFileSync(join(cwd, 'reports', 'campaign.csv'), 'utf8'));
    expect(csv.records.length).toBeGreaterThan(0);
    expect(csv.records.length % 50).toBe(0);
    expect(filesIn(join(cwd, 'reports'))).toEqual(['campaign.csv', 'summary.txt']);
  }, 120_000);

  it('SIGTERM (CI cancellation, timeout, docker stop) is handled like the first Ctrl-C: exit 143, the finished chunks kept and printed', async () => {
    // Arrange
    const cwd = tempDir();
    let sent = false;
    // Act
    const result = await spawnCli(cli, ['run', '--seed', '6', '--runs', '100000', '--workers', '2', '--no-store'], {
      cwd,
      onStdout: (text, child) => {
        if (!sent && text.includes('this campaign again')) {
          sent = true;
          setTimeout(() => child.kill('SIGTERM'), 1500);
        }
      },
    });
    // Assert
    expect(result.signal).toBe(null);
    expect(result.code).toBe(143);
    expect(result.stderr).toContain('timewait: terminated (SIGTERM); stopping and writing what finished');
    expect(result.stdout).toMatch(/interrupted: \d+ of 10000 chunks finished/);
    expect(result.stdout).toMatch(/^wrote reports\/campaign.csv, reports\/summary.txt$/m);
    const csv = parseCsv(readFileSync(join(cwd, 'reports', 'campaign.csv'), 'utf8'));
    expect(csv.records.length).toBeGreaterThan(0);
    expect(csv.records.length % 50).toBe(0);
    expect(filesIn(join(cwd, 'reports'))).toEqual(['campaign.csv', 'summary.txt']);
  }, 120_000);

  it('--out /dev/stdout into a pipe streams the trace; --workers and TIMEWAIT_RUNS_SCALE past their bounds exit 2', async () => {
    // Act
    const piped = await spawnCli(cli, ['replay', '--suite', 'handshake', '--seed', '1', '--path', '0', '--out', '/dev/stdout']);
    const workers = await spawnCli(cli, ['run', '--workers', '256']);
    const scale = await spawnCli(cli, ['run'], { env: { TIMEWAIT_RUNS_SCALE: '1e12' } });
    // Assert
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^# replay of suite handshake/);
    expect(piped.stdout).toMatch(/# wrote \/dev\/stdout\n$/);
    expect(workers.code).toBe(2);
    expect(workers.stderr).toBe('timewait: --workers: expected a positive number of worker threads from 1 to 64, got "256"\n');
    expect(scale.code).toBe(2);
    expect(scale.stderr).toMatch(/^timewait: environment: TIMEWAIT_RUNS_SCALE: expected a positive number up to 10000/);
  }, 60_000);

  it('prints its version and help without a stack trace; an unknown flag exits 2', async () => {
    const version = await spawnCli(cli, ['--version']);
    const bad = await spawnCli(cli, ['run', '--no-such-flag']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: unknown option '--no-such-flag'/);
  }, 60_000);
});
