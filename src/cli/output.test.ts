/**
 * Output paths (output.ts) and the checks that run before any work: devices and pipes are
 * written in place, symbolic links are followed and kept, an output that is an input is refused,
 * and a bad output path costs nothing (exit 2, nothing run, nothing written). Also the
 * failing-seed store's hostile entries and replay paths that do not replay.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { checkOutputDir, checkOutputFile, OutputSet, openOutput, writeOutput } from './output.js';
import { filesIn, runMain, tempDir } from './test-support.js';

const REPLAY = ['replay', '--suite', 'handshake', '--seed', '1', '--path', '0'];

describe('output paths', () => {
  it('a device is written in place, never replaced by a file (root may rename over /dev/null)', async () => {
    // Act
    const result = await runMain([...REPLAY, '--csv', '/dev/null', '--out', '/dev/null']);
    // Assert
    expect(result.code).toBe(0);
    expect(checkOutputFile('/dev/null', '--csv').kind).toBe('stream');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('/dev/full: the write fails as bad output (exit 2, one line), and the device stays a device', async () => {
    // Act
    const result = await runMain([...REPLAY, '--out', '/dev/full']);
    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('timewait: cannot write /dev/full: no space left on device (ENOSPC)\n');
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('/dev/stdout and /dev/fd/N are the process\'s own streams: written in place', () => {
    expect(checkOutputFile('/dev/stdout', '--out').kind).toBe('stream');
    expect(checkOutputFile('/dev/fd/2', '--out').kind).toBe('stream');
  });

  it('a FIFO is streamed to its reader', () => {
    // Arrange
    const dir = tempDir();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // Act: a reader in another process, then the write.
    const noReader = (() => {
      try {
        writeOutput(checkOutputFile(fifo, '--csv'), 'lost\n');
        return 'written';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    const reader = new Promise<string>((resolve, reject) => execFile('cat', [fifo], (error, stdout) => (error ? reject(error) : resolve(stdout))));
    const target = checkOutputFile(fifo, '--csv');
    // The reader opens the FIFO on its own time: retry while nobody reads yet.
    for (let tries = 0; ; tries++) {
      try {
        writeOutput(target, 'through the pipe\n');
        break;
      } catch (error) {
        if (tries > 2000 || !(error as Error).message.includes('ENXIO')) throw error;
        execFileSync('sleep', ['0.01']);
      }
    }
    expect(noReader).toMatch(/no reader on the other end .*ENXIO/);
    // Assert
    expect(target.kind).toBe('stream');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    return expect(reader).resolves.toBe('through the pipe\n');
  });

  it('a symbolic link is followed: the target is written atomically, the link stays a link', async () => {
    // Arrange
    const dir = tempDir();
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'trace.txt'), 'old\n');
    symlinkSync('real/trace.txt', join(dir, 'link.txt'));
    symlinkSync('real/new.csv', join(dir, 'dangling.csv'));
    // Act
    const result = await runMain([...REPLAY, '--out', 'link.txt', '--csv', 'dangling.csv'], { cwd: dir });
    // Assert
    expect(result.code).toBe(0);
    expect(lstatSync(join(dir, 'link.txt')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, 'link.txt'))).toBe('real/trace.txt');
    expect(readFileSync(join(dir, 'real', 'trace.txt'), 'utf8')).toMatch(/^# replay of suite handshake/);
    expect(lstatSync(join(dir, 'dangling.csv')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real', 'new.csv'), 'utf8')).toMatch(/^suite,endpoint,/);
    expect(filesIn(join(dir, 'real'))).toEqual(['new.csv', 'trace.txt']);
  });

  it('a file written piece by piece appears only when committed; abandoned, it leaves nothing', () => {
    // Arrange
    const dir = tempDir();
    const path = join(dir, 'out.csv');
    writeFileSync(path, 'before\n');
    // Act
    const kept = openOutput(checkOutputFile(path, '--csv'));
    kept.write('a\n');
    const during = readFileSync(path, 'utf8');
    kept.write('b\n');
    kept.commit();
    const dropped = openOutput(checkOutputFile(path, '--csv'));
    dropped.write('never\n');
    dropped.abandon();
    // Assert
    expect(during).toBe('before\n');
    expect(readFileSync(path, 'utf8')).toBe('a\nb\n');
    expect(filesIn(dir)).toEqual(['out.csv']);
  });

  it('refuses a directory as a file, a file as a directory, a path through a file, and two outputs on one file', () => {
    // Arrange
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    const outputs = new OutputSet();
    outputs.file(join(dir, 'a.csv'), '--csv');
    // Act / Assert
    expect(() => checkOutputFile(dir, '--csv')).toThrow(/^--csv \S+ is a directory; give a file name$/);
    expect(() => checkOutputDir(join(dir, 'file'), '--report')).toThrow(/^--report \S+file is a file, not a directory$/);
    expect(() => checkOutputFile(join(dir, 'file', 'x.csv'), '--out')).toThrow(UsageError);
    expect(() => outputs.file(join(dir, 'a.csv'), '--out')).toThrow(/^--out \S+a\.csv is also the --csv output; give them different files$/);
  });
});

describe('output paths are checked before any run (exit 2, nothing run, nothing written)', () => {
  const cases: [string, (dir: string) => string[], RegExp][] = [
    ['--csv in a path through a file', (dir) => ['--csv', join(dir, 'file', 'x.csv')], /^timewait: --csv \S+x\.csv: a part of the path is not a directory \(ENOTDIR\)\n$/],
    ['--csv naming a directory', (dir) => ['--csv', dir], /^timewait: --csv \S+ is a directory; give a file name\n$/],
    ['--reports-dir naming a file', (dir) => ['--reports-dir', join(dir, 'file')], /^timewait: --reports-dir \S+file is a file, not a directory\n$/],
    ['--report naming a file', (dir) => ['--report', join(dir, 'file')], /^timewait: --report \S+file is a file, not a directory\n$/],
  ];
  for (const [what, flags, message] of cases) {
    it(`run with ${what}`, async () => {
      // Arrange
      const dir = tempDir();
      writeFileSync(join(dir, 'file'), 'mine\n');
      // Act
      const result = await runMain(['run', 'handshake', '--runs', '5', '--seed', '1', '--workers', '1', '--reports-dir', join(dir, 'reports'), ...flags(dir)]);
      // Assert
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      expect(filesIn(dir)).toEqual(['file']);
      expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('mine\n');
    });
  }

  it('replay with a bad --report writes neither the trace nor the CSV', async () => {
    // Arrange
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    // Act
    const result = await runMain([...REPLAY, '--out', 'trace.txt', '--csv', 'run.csv', '--report', 'file'], { cwd: dir });
    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('timewait: --report file is a file, not a directory\n');
    expect(filesIn(dir)).toEqual(['file']);
  });

  it('merge --out onto one of its inputs is refused', async () => {
    // Arrange
    const dir = tempDir();
    await runMain(['run', 'handshake', '--runs', '5', '--seed', '1', '--workers', '1', '--no-store', '--csv', join(dir, 'a.csv'), '--no-reports']);
    const before = readFileSync(join(dir, 'a.csv'), 'utf8');
    // Act
    const result = await runMain(['merge', 'a.csv', '--out', 'a.csv'], { cwd: dir });
    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('timewait: --out a.csv is also an input (a.csv); write the output somewhere else\n');
    expect(readFileSync(join(dir, 'a.csv'), 'utf8')).toBe(before);
  });
});

describe('replay paths are bounded; a path that does not replay is bad input', () => {
  const cases: [string, string, RegExp][] = [
    ['a run index past the bound (it would take hours to reach)', '999999999', /^timewait: --path: expected a fast-check path: numbers below 100000/],
    ['a shrink step that does not exist', '0:99999', /^timewait: path 0:99999 does not replay in suite handshake at seed 1: fast-check has no such shrink step/],
    ['2,001 steps', `0${':0'.repeat(2000)}`, /^timewait: --path: expected a fast-check path/],
    ['a path longer than the shrink took', `0${':0'.repeat(200)}`, /^timewait: path 0(:0)+ does not replay in suite handshake at seed 1/],
  ];
  for (const [what, path, message] of cases) {
    it(what, async () => {
      const result = await runMain(['replay', '--suite', 'handshake', '--seed', '1', '--path', path]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }
});

describe('the failing-seed store under hostile entries', () => {
  const store = (entries: unknown[]) => `${JSON.stringify({ format: 'timewait-failing-seeds', version: 1, entries })}\n`;
  const entry = { suite: 'close', endpoint: 'no-time-wait', seed: 1, path: '0', monitor: 'time-wait-side' };

  it('10,000 copies of one entry are retried once; bad entries are reported and skipped, never fatal, and dropped from the store', async () => {
    // Arrange
    const dir = tempDir();
    writeFileSync(
      join(dir, 'failing-seeds.json'),
      store([...Array.from({ length: 10_000 }, () => entry), { ...entry, path: '999999999' }, { ...entry, seed: 2, path: '0:99999' }, { suite: 'close', seed: 'x' }]),
    );
    // Act
    const result = await runMain(['run', 'close', '--runs', '5', '--seed', '1', '--workers', '1', '--endpoint', 'no-time-wait', '--reports-dir', dir]);
    // Assert
    expect([0, 1]).toContain(result.code);
    expect(result.stderr).toContain('note: failing-seed store');
    expect(result.stderr).toMatch(/entries\[10000\] skipped: path: expected a fast-check path/);
    expect(result.stderr).toMatch(/entries\[10002\] skipped: /);
    expect(result.stderr).toMatch(/9999 copies of entries already in the store dropped/);
    expect(result.stdout).toMatch(/retrying 2 stored failing seeds first/);
    expect(result.stdout).toMatch(/close seed 2 path 0:99999: skipped and dropped from the store \(path 0:99999 does not replay/);
    const saved = JSON.parse(readFileSync(join(dir, 'failing-seeds.json'), 'utf8')) as { entries: { seed: number; path: string }[] };
    expect(saved.entries.filter((e) => e.seed === 2)).toEqual([]);
    expect(new Set(saved.entries.map((e) => `${e.seed}/${e.path}`)).size).toBe(saved.entries.length);
  });

  it('stores the failure it printed and saved, and --no-reports writes no store', async () => {
    // Arrange
    const dir = tempDir();
    const args = ['run', 'close', '--runs', '200', '--seed', '5', '--workers', '1', '--endpoint', 'no-time-wait', '--no-timing'];
    // Act
    const none = await runMain([...args, '--no-reports', '--reports-dir', join(dir, 'none')]);
    const saved = await runMain([...args, '--reports-dir', dir]);
    // Assert
    expect(none.code).toBe(1);
    expect(existsSync(join(dir, 'none'))).toBe(false);
    expect(saved.code).toBe(1);
    const printed = /^\{ seed: (-?\d+), path: "([\d:]+)" \}$/m.exec(saved.stdout)!;
    const entries = (JSON.parse(readFileSync(join(dir, 'failing-seeds.json'), 'utf8')) as { entries: { seed: number; path: string }[] }).entries;
    expect(entries[0]).toMatchObject({ seed: Number(printed[1]), path: printed[2] });
    const files = filesIn(dir).filter((f) => f.startsWith('counterexample-'));
    expect(entries).toHaveLength(files.length);
  });
});
