/**
 * Bad input: a clear one-line message naming what was wrong and what was expected, exit code 2,
 * never a stack trace, and nothing written.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesIn, runMain, tempDir } from './test-support.js';

const cases: [string, string[], RegExp, Record<string, string>?][] = [
  ['an unknown flag', ['run', '--sed', '4'], /^error: unknown option '--sed'/],
  ['an unknown command', ['frobnicate'], /^error: unknown command 'frobnicate'/],
  ['an unknown suite', ['run', 'handshak'], /^timewait: SUITE argument: expected a suite name: handshake, close, .* got "handshak"$/m],
  ['a malformed seed', ['run', '--seed', '12abc'], /^timewait: --seed: expected an integer from -2147483648 to 2147483647, or "random", got "12abc"$/m],
  ['a seed out of range', ['replay', '--suite', 'close', '--seed', '4294967296', '--path', '0'], /^timewait: --seed: expected an integer from -2147483648 to 2147483647, got "4294967296"$/m],
  ['a malformed path', ['replay', '--suite', 'close', '--seed', '1', '--path', '3::1'], /^timewait: --path: expected a fast-check path: numbers below 100000 separated by colons, like 12 or 12:0:3, at most 1000 shrink steps, got "3::1"$/m],
  ['zero runs', ['run', '--runs', '0'], /^timewait: --runs: expected a positive number of runs from 1 to 10000000, got "0"$/m],
  ['a bad worker count', ['run', '--workers', 'two'], /^timewait: --workers: expected a positive number of worker threads, got "two"$/m],
  ['a bad shard', ['run', '--seed', '1', '--shard', '3/3'], /^timewait: --shard: expected a shard index below the shard count \(shards count from 0: 0\/4 … 3\/4\), got "3\/3"$/m],
  ['a shard without a seed', ['run', '--shard', '0/2'], /^timewait: --shard needs an explicit --seed/m],
  ['an unknown endpoint', ['run', '--endpoint', 'linux'], /^timewait: --endpoint: expected an endpoint: reference, time-wait-1msl, .* got "linux"$/m],
  ['a bad TIMEWAIT_RUNS_SCALE', ['run'], /^timewait: environment: TIMEWAIT_RUNS_SCALE: expected a positive number up to 10000, like 0.1 or 10 \(the largest suite then has 10000000 runs\), got "lots"$/m, { TIMEWAIT_RUNS_SCALE: 'lots' }],
  ['replay without a seed', ['replay', '--suite', 'close', '--path', '1'], /^timewait: replay needs --seed \(or --from FILE\)$/m],
  ['replay with --from and --seed', ['replay', '--from', 'x.json', '--seed', '1'], /^timewait: give either --from FILE or --suite, --seed and --path, not both$/m],
  ['pcap without --out', ['replay', '--suite', 'close', '--seed', '1', '--path', '0', '--format', 'pcap'], /^timewait: --format pcap writes a binary capture: give the file with --out FILE$/m],
  ['--per-connection without --csv', ['replay', '--suite', 'close', '--seed', '1', '--path', '0', '--per-connection'], /^timewait: --per-connection needs --csv FILE$/m],
  ['--host without pcap', ['scenario', 'examples/c07-three-way-close.json', '--host', 'client'], /^timewait: --host applies to --format pcap only$/m],
  ['an unknown format', ['replay', '--suite', 'close', '--seed', '1', '--path', '0', '--format', 'xml'], /^timewait: --format: expected text, json or pcap, got "xml"$/m],
  ['a missing counterexample file', ['replay', '--from', 'reports/nope.json'], /^timewait: cannot read counterexample file .*nope\.json: no such file or directory \(ENOENT\)$/m],
  ['merge without files', ['merge'], /^error: missing required argument 'files'/],
];

describe('bad input: exit code 2, a clear message, no stack trace, nothing written', () => {
  for (const [what, args, message, env] of cases) {
    it(what, async () => {
      // Arrange: an empty reports directory that must stay empty.
      const dir = tempDir();
      const withDir = args[0] === 'run' ? [...args, '--reports-dir', dir] : args;
      // Act
      const result = await runMain(withDir, { cwd: dir, ...(env !== undefined ? { env } : {}) });
      // Assert
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at |Error:/);
      expect(result.stdout).toBe('');
      expect(filesIn(dir)).toEqual([]);
    });
  }

  it('no arguments prints the help on stderr (exit 2); --help prints it on stdout (exit 0)', async () => {
    const none = await runMain([]);
    const help = await runMain(['--help']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: timewait/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Commands:\n\s+run \[options\] \[suites\.\.\.\]/);
  });

  it('a counterexample file that is not one names the fields', async () => {
    // Arrange
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'timewait-counterexample', version: 1, suite: 'close', seed: 'x' }));
    // Act
    const result = await runMain(['replay', '--from', join(dir, 'bad.json')]);
    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/counterexample file .*bad\.json: seed: expected a number, got "x"/);
    expect(result.stderr).toMatch(/counterexample file .*bad\.json: endpoint: missing/);
  });

  it('a corrupt failing-seed store is reported, not overwritten', async () => {
    // Arrange
    const dir = tempDir();
    writeFileSync(join(dir, 'failing-seeds.json'), '{"format": "timewait-failing-seeds", "version": 2}');
    // Act
    const result = await runMain(['run', 'close', '--runs', '5', '--seed', '1', '--workers', '1', '--reports-dir', dir]);
    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/failing-seed store .* \(delete it or pass --no-store\): version: expected 1/);
    expect(result.stdout).toBe('');
    expect(filesIn(dir)).toEqual(['failing-seeds.json']);
  });
});
