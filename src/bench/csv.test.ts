/**
 * Unit tests for the benchmark CSV writer (the benchmarks themselves are run, not tested).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { meetsTarget, type Measurement } from './benchmark.js';
import { appendBenchRows, benchRow, type BenchEnvironment } from './csv.js';

const ENV: BenchEnvironment = { date: '2025-01-02T03:04:05.000Z', node: 'v20.0.0', machine: 'Test CPU, 3 GHz x 2' };

describe('appendBenchRows', () => {
  let dir = '';
  let path = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'timewait-bench-'));
    path = join(dir, 'reports', 'bench.csv');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the header once, then appends rows, quoting commas', () => {
    // Arrange
    const fast: Measurement = { figure: 'scheduler events/s, 10000 pending', value: 5_000_000, unit: 'events/s', target: { op: '>=', value: 4_000_000 } };
    const slow: Measurement = { figure: 'lifecycle ms', value: 12.5, unit: 'ms', target: { op: '<=', value: 10 } };
    const plain: Measurement = { figure: 'runs', value: 3, unit: 'runs/s' };
    // Act
    appendBenchRows([benchRow(fast, ENV)], path);
    appendBenchRows([benchRow(slow, ENV), benchRow(plain, ENV)], path);
    // Assert
    expect(readFileSync(path, 'utf8')).toBe(
      [
        'date,node,machine,figure,value,unit,target,meets_target',
        '2025-01-02T03:04:05.000Z,v20.0.0,"Test CPU, 3 GHz x 2","scheduler events/s, 10000 pending",5000000,events/s,>= 4000000,true',
        '2025-01-02T03:04:05.000Z,v20.0.0,"Test CPU, 3 GHz x 2",lifecycle ms,12.5,ms,<= 10,false',
        '2025-01-02T03:04:05.000Z,v20.0.0,"Test CPU, 3 GHz x 2",runs,3,runs/s,,',
        '',
      ].join('\n'),
    );
  });

  it('refuses to append to a file with another header', () => {
    // Arrange
    appendBenchRows([benchRow({ figure: 'x', value: 1, unit: 'u' }, ENV)], path);
    writeFileSync(path, 'date,figure,value\n');
    // Act + Assert
    expect(() => appendBenchRows([benchRow({ figure: 'x', value: 1, unit: 'u' }, ENV)], path)).toThrow(/header/);
    expect(readFileSync(path, 'utf8')).toBe('date,figure,value\n');
  });
});

describe('meetsTarget', () => {
  it('compares at-least and at-most targets inclusively, and has no verdict without a target', () => {
    // Arrange
    const at = (value: number, op: '>=' | '<='): Measurement => ({ figure: 'f', value, unit: 'u', target: { op, value: 10 } });
    // Act + Assert
    expect([meetsTarget(at(10, '>=')), meetsTarget(at(9.99, '>=')), meetsTarget(at(10, '<=')), meetsTarget(at(10.01, '<='))]).toEqual([true, false, true, false]);
    expect(meetsTarget({ figure: 'f', value: 1, unit: 'u' })).toBeNull();
  });
});
