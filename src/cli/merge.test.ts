/**
 * `timewait merge` refuses what is not one whole campaign: shards of different campaigns (seed,
 * --runs, suites), of different endpoints, a missing shard, a file cut short (mid-line or at a
 * line end), the same shard twice. Each refusal is exit 2 with one line, and nothing is written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { filesIn, runMain, tempDir } from './test-support.js';

let dir = '';
const shard = (name: string, i: number, n = 3) => join(name, `campaign.shard-${i}-of-${n}.csv`);

beforeAll(async () => {
  dir = tempDir();
  const base = ['run', 'handshake', 'time-wait', '--no-timing', '--no-store', '--workers', '1'];
  const campaigns: [string, string[]][] = [
    ['a', ['--seed', '77', '--runs', '130']],
    ['seed', ['--seed', '78', '--runs', '130']],
    ['runs', ['--seed', '77', '--runs', '120']],
    ['mutant', ['--seed', '77', '--runs', '130', '--endpoint', 'no-time-wait']],
  ];
  for (const [name, flags] of campaigns) {
    for (const i of [0, 1, 2]) {
      const result = await runMain([...base, ...flags, '--shard', `${i}/3`, '--reports-dir', name], { cwd: dir });
      expect([0, 1]).toContain(result.code);
    }
  }
}, 120_000);

describe('timewait merge refuses what is not one whole campaign', () => {
  it('the three shards of one campaign merge (the control)', async () => {
    const result = await runMain(['merge', shard('a', 0), shard('a', 1), shard('a', 2), '--out', 'ok.csv'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^merged 260 rows from 3 files into ok.csv\n/);
    expect(readFileSync(join(dir, 'ok.csv'), 'utf8').split('\n')[1]).toMatch(/,77\/130\/handshake\+time-wait,0\/1,/);
  });

  const refusals: [string, () => string[], RegExp][] = [
    ['a shard of another seed', () => [shard('a', 0), shard('a', 1), shard('seed', 2)], /^timewait: CSV files a\/campaign.shard-0-of-3.csv and seed\/campaign.shard-2-of-3.csv are from different campaigns \(77\/130\/handshake\+time-wait and 78\/130\/handshake\+time-wait: seed\/runs\/suites\)/],
    ['a shard of another --runs', () => [shard('a', 0), shard('runs', 1), shard('a', 2)], /are from different campaigns \(77\/130\/handshake\+time-wait and 77\/120\/handshake\+time-wait/],
    ['a shard of another endpoint', () => [shard('a', 0), shard('a', 1), shard('mutant', 2)], /test different endpoints \(reference and no-time-wait\)/],
    ['a missing shard', () => [shard('a', 0), shard('a', 2)], /^timewait: shard 1\/3 of campaign 77\/130\/handshake\+time-wait is missing \(\d+ runs\): give every shard's file\n$/],
    ['a file cut in the middle of a line', () => [shard('a', 0), shard('a', 1), cut(shard('a', 2), 'mid-line')], /^timewait: CSV file cut-mid-line.csv ends in the middle of a line: it was cut short/],
    ['a file cut at a line end', () => [shard('a', 0), shard('a', 1), cut(shard('a', 2), 'line')], /^timewait: CSV file cut-line.csv \(shard 2\/3\) has \d+ of its \d+ runs: cut short, or from an interrupted run\n$/],
    ['the same shard under two names', () => [shard('a', 0), shard('a', 1), shard('a', 2), copy(shard('a', 1))], /^timewait: shard 1\/3 is in both a\/campaign.shard-1-of-3.csv and copy.csv: was a shard given twice\?\n$/],
  ];
  for (const [what, files, message] of refusals) {
    it(what, async () => {
      // Arrange
      const args = files();
      const before = filesIn(dir);
      // Act
      const result = await runMain(['merge', ...args, '--out', 'refused.csv'], { cwd: dir });
      // Assert
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(filesIn(dir)).toEqual(before);
    });
  }
});

function cut(file: string, how: 'mid-line' | 'line'): string {
  const text = readFileSync(join(dir, file), 'utf8');
  const lines = text.split('\n');
  const name = `cut-${how}.csv`;
  writeFileSync(join(dir, name), how === 'line' ? `${lines.slice(0, -6).join('\n')}\n` : text.slice(0, text.length - 10));
  return name;
}

function copy(file: string): string {
  writeFileSync(join(dir, 'copy.csv'), readFileSync(join(dir, file)));
  return 'copy.csv';
}
