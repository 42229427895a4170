import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const range = (from: number, to: number) => bytes(...Array.from({ length: to - from }, (_, i) => from + i));

describe('ByteQueue', () => {
  it('peeks across chunk boundaries without consuming', () => {
    // Arrange
    const q = new ByteQueue();
    q.push(range(0, 3));
    q.push(range(3, 5));
    q.push(range(5, 9));
    // Act / Assert
    expect(q.length).toBe(9);
    expect(q.peek(0, 9)).toEqual(range(0, 9));
    expect(q.peek(2, 4)).toEqual(range(2, 6));
    expect(q.peek(9, 0)).toEqual(bytes());
    expect(q.length).toBe(9);
  });

  it('shift and drop consume from the front, also in the middle of a chunk', () => {
    // Arrange
    const q = new ByteQueue();
    q.push(range(0, 4));
    q.push(range(4, 8));
    // Act
    expect(q.shift(3)).toEqual(range(0, 3));
    q.drop(2);
    // Assert: the head offset is now inside the second chunk.
    expect(q.length).toBe(3);
    expect(q.peek(0, 3)).toEqual(range(5, 8));
    expect(q.shift(100)).toEqual(range(5, 8));
    expect(q.length).toBe(0);
  });

  it('drop of a whole chunk exactly, then appending again', () => {
    const q = new ByteQueue();
    q.push(range(0, 4));
    q.push(range(4, 6));
    q.drop(4);
    q.push(range(6, 7));
    expect(q.peek(0, 3)).toEqual(range(4, 7));
  });

  it('ignores empty pushes, and clear empties it', () => {
    const q = new ByteQueue();
    q.push(bytes());
    expect(q.length).toBe(0);
    q.push(range(0, 2));
    q.clear();
    expect(q.length).toBe(0);
    expect(q.shift(1)).toEqual(bytes());
  });

  it('refuses to read or drop outside what it holds', () => {
    const q = new ByteQueue();
    q.push(range(0, 4));
    expect(() => q.peek(2, 3)).toThrow('peek 2+3 outside 4 bytes');
    expect(() => q.peek(-1, 1)).toThrow('peek -1+1 outside 4 bytes');
    expect(() => q.peek(0, -1)).toThrow('peek 0+-1 outside 4 bytes');
    expect(() => q.drop(5)).toThrow('drop 5 of 4 bytes');
  });

  it('does not alias the caller\'s buffer in what it returns', () => {
    const source = range(0, 4);
    const q = new ByteQueue();
    q.push(source);
    const copy = q.peek(0, 4);
    copy[0] = 99;
    expect(q.peek(0, 1)).toEqual(bytes(0));
  });

  it('copies of any size: past a slab (64 KiB) and many small ones filling slabs, each its own bytes', () => {
    const q = new ByteQueue();
    q.push(range(0, 250));
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    q.push(big);
    expect(q.peek(250, 100_000)).toEqual(big);
    expect(q.peek(0, 9_000)).toEqual(new Uint8Array(9_000).map((_, i) => (i < 250 ? i : (i - 250) % 251)));
    // 200 copies of 1,000 bytes: three slabs' worth; each keeps its own bytes after the others are written.
    const copies = Array.from({ length: 200 }, (_, i) => q.peek(i, 1000));
    for (const copy of copies) copy.fill(0);
    expect(q.peek(7, 3)).toEqual(bytes(7, 8, 9));
    expect(copies.every((copy) => copy.length === 1000)).toBe(true);
  });

  it('agrees with a plain array on any pushes, drops, shifts and peeks, over many chunks (the front compacted)', () => {
    type Op = { kind: 'push'; len: number } | { kind: 'drop' | 'shift'; count: number } | { kind: 'peek'; offset: number; count: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), len: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constantFrom('drop' as const, 'shift' as const), count: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('peek' as const), offset: fc.integer({ min: 0, max: 40 }), count: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 50, maxLength: 400 }), (ops) => {
        const q = new ByteQueue();
        let model: number[] = [];
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const chunk = Array.from({ length: o.len }, () => next++ & 0xff);
            q.push(Uint8Array.from(chunk));
            model.push(...chunk);
          } else if (o.kind === 'peek') {
            if (o.offset + o.count <= model.length) expect(Array.from(q.peek(o.offset, o.count))).toEqual(model.slice(o.offset, o.offset + o.count));
          } else if (o.kind === 'shift') {
            expect(Array.from(q.shift(o.count))).toEqual(model.slice(0, o.count));
            model = model.slice(o.count);
          } else if (o.count <= model.length) {
            q.drop(o.count);
            model = model.slice(o.count);
          }
          expect(q.length).toBe(model.length);
        }
        expect(Array.from(q.peek(0, model.length))).toEqual(model);
      }),
      { numRuns: 200, seed: 2026 },
    );
  });

  it('a long stream of one-byte chunks consumed one at a time stays in order (past 32 consumed chunks the front is compacted)', () => {
    const q = new ByteQueue();
    for (let i = 0; i < 100; i++) q.push(bytes(i));
    for (let i = 0; i < 99; i++) {
      q.drop(1);
      expect([q.length, q.peek(0, 1)[0]]).toEqual([99 - i, i + 1]);
    }
    q.push(bytes(200));
    expect(q.shift(2)).toEqual(bytes(99, 200));
  });
});
