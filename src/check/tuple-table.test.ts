import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PairTable, slotOf } from './tuple-table.js';

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

  it('a deletion whose run wraps past the end of the table keeps an entry whose home is before the wrap', () => {
    // Keys (0, low) by home slot in the first table (16 slots): A at home 14, B and C at home 15, so
    // C wraps to slot 0. Deleting A must leave C where it is: C's home (15) lies between the hole (14)
    // and C's slot (0) across the wrap; moved into slot 14, a lookup from 15 would miss it.
    const lowsAt = (home: number) => Array.from({ length: 2000 }, (_, low) => low).filter((low) => slotOf(0, low, 15) === home);
    const [a] = lowsAt(14) as [number];
    const [b, c] = lowsAt(15) as [number, number];
    const table = new PairTable<string>();
    table.set(0, a, 'a');
    table.set(0, b, 'b');
    table.set(0, c, 'c');
    table.delete(0, a);
    expect([table.get(0, a), table.get(0, b), table.get(0, c), table.size]).toEqual([undefined, 'b', 'c', 2]);
    // And the shift that must happen: deleting B moves C back to its home, where it is still found.
    table.delete(0, b);
    expect([table.get(0, b), table.get(0, c), table.size]).toEqual([undefined, 'c', 1]);
  });
});
