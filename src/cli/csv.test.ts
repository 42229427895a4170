/**
 * CSV statistics: the columns docs/cli.md documents are the columns written, rows round-trip
 * through the merge parser, and files are written atomically (no temporary file left, the old
 * file intact when a write fails).
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv, toCsv } from './csv.js';
import { UsageError } from './errors.js';
import { writeFileAtomic } from './fs.js';
import { CONNECTION_COLUMNS, columnsMarkdown, RUN_COLUMNS, type ConnectionRow } from './rows.js';
import { filesIn, ROOT, tempDir } from './test-support.js';

describe('CSV columns', () => {
  it('docs/cli.md documents exactly the columns written, in order', () => {
    // Arrange
    const doc = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
    // Assert
    expect(doc).toContain(columnsMarkdown(RUN_COLUMNS));
    expect(doc).toContain(columnsMarkdown(CONNECTION_COLUMNS));
  });

  it('writes a header and one line per row; booleans as true/false; parseCsv reads it back', () => {
    // Arrange
    const row: ConnectionRow = {
      suite: 'scenario:a,b "quoted"',
      endpoint: 'reference',
      chunk: '',
      seed: -5,
      path: '3:0',
      campaign: '',
      shard: '',
      conn_id: 1,
      host: 'client',
      local_port: 44722,
      remote_port: 8848,
      incarnation: 1,
      passive: false,
      segments_sent: 4,
      retransmissions: 0,
      rsts_sent: 0,
      bytes_delivered: 0,
      time_wait_entries: 1,
      time_wait_us: 60_000_000,
      final_state: 'CLOSED',
      close_kind: 'three-segment',
    };
    // Act
    const text = toCsv(CONNECTION_COLUMNS, [row]);
    const parsed = parseCsv(text);
    // Assert
    expect(text.split('\n')).toHaveLength(3);
    expect(parsed.header).toEqual(CONNECTION_COLUMNS.map((c) => c.key));
    expect(parsed.records[0]).toEqual(['scenario:a,b "quoted"', 'reference', '', '-5', '3:0', '', '', '1', 'client', '44722', '8848', '1', 'false', '4', '0', '0', '0', '1', '60000000', 'CLOSED', 'three-segment']);
  });

  it('parseCsv names the line of a malformed file', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow('line 3 has 1 fields, the header 2');
    expect(() => parseCsv('a,b\n"1,2\n')).toThrow('unterminated quoted field');
  });
});

describe('atomic writes', () => {
  it('replaces the file whole and leaves no temporary file', () => {
    // Arrange
    const dir = tempDir();
    const path = join(dir, 'campaign.csv');
    writeFileSync(path, 'old\n');
    // Act
    writeFileAtomic(path, 'new\n');
    // Assert
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect(filesIn(dir)).toEqual(['campaign.csv']);
  });

  it('a failed write keeps the old file and removes the temporary one (a UsageError, not a crash)', () => {
    // Arrange: a directory we cannot write into (skipped when running as root, which can).
    const dir = tempDir();
    const path = join(dir, 'campaign.csv');
    writeFileSync(path, 'old\n');
    chmodSync(dir, 0o500);
    try {
      if (process.getuid?.() === 0) return;
      // Act / Assert
      expect(() => writeFileAtomic(path, 'new\n')).toThrow(UsageError);
      expect(readFileSync(path, 'utf8')).toBe('old\n');
      expect(filesIn(dir)).toEqual(['campaign.csv']);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it('a path through a file is a UsageError naming the problem', () => {
    // Arrange
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    // Act / Assert
    expect(() => writeFileAtomic(join(dir, 'file', 'x.csv'), 'data')).toThrow(/output .*file\/x.csv: a part of the path is not a directory \(ENOTDIR\)/);
  });
});
