import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PairTable } from './tuple-table.js';

type Op = { readonly kind: 'set' | 'delete' | 'get'; readonly high: number; readonly low: number; readonly value: number };

/** Keys from a small space, so that runs collide, wrap around the table and shift on delete. */
const opArb = (space: number): fc.Arbitrary<Op> =>
  fc.record({ kind: fc.constantFrom('set', 'set', 'delete', 'get'), high: fc.integer({ min: 0, max: space }), low: fc.integer({ min: 0, max: space }), value: fc.integer() }) as fc.Arbitrary<Op>;

describe('PairTable', () => {
  it('agrees with a Map on any sequence of set, delete and get', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(opArb(3), { maxLength: 200 }), fc.array(opArb(40), { maxLength: 600 }), fc.array(opArb((1 << 26) - 1), { maxLength: 300 })), (ops) => {
        const table = new PairTable<number>();
        const model = new Map<string, number>();
        for (const op of ops) {
          const key = `${op.high}/${op.low}`;
          if (op.kind === 'set') {
            table.set(op.high, op.low, op.value);
            model.set(key, op.value);
          } else if (op.kind === 'delete') {
            table.delete(op.high, op.low);
            model.delete(key);
          }
          expect(table.get(op.high, op.low)).toBe(model.get(key));
          expect(table.size).toBe(model.size);
        }
        for (const [key, value] of model) {
          const [high, low] = key.split('/').map(Number) as [number, number];
          expect(table.get(high, low)).toBe(value);
        }
      }),
      { numRuns: 300, seed: 2026 },
    );
  });

  it('grows past 10^5 pairs and shrinks back as they are deleted', () => {
    const table = new PairTable<number>();
    for (let i = 0; i < 100_000; i++) table.set(i >>> 8, i & 255, i);
    expect(table.size).toBe(100_000);
    expect(table.get(390, 159)).toBe(99_999);
    for (let i = 0; i < 100_000; i += 2) table.delete(i >>> 8, i & 255);
    expect(table.size).toBe(50_000);
    expect(table.get(0, 0)).toBeUndefined();
    expect(table.get(0, 1)).toBe(1);
    for (let i = 1; i < 100_000; i += 2) table.delete(i >>> 8, i & 255);
    expect(table.size).toBe(0);
    // Shrunk: the table's memory went back (to 1,024 slots, below which it keeps its size).
    expect((table as unknown as { keysHigh: number[] }).keysHigh.length).toBe(1024);
  });
});
