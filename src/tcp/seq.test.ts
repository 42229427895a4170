import { describe, expect, it } from 'vitest';
import { SEQ_MOD, seqAdd, seqDiff, seqGe, seqGt, seqInRange, seqLe, seqLt } from './seq.js';

const TOP = SEQ_MOD - 1; // 2^32 - 1

describe('sequence arithmetic modulo 2^32 (RFC 9293 §3.4)', () => {
  it('C4: seqAdd wraps past 2^32 and back below 0', () => {
    expect(seqAdd(TOP, 1)).toBe(0);
    expect(seqAdd(TOP - 1, 1500)).toBe(1498);
    expect(seqAdd(0, -1)).toBe(TOP);
    expect(seqAdd(5, -6)).toBe(TOP);
    expect(seqAdd(123, SEQ_MOD)).toBe(123);
  });

  it('C4: seqDiff is the signed distance, across the wrap', () => {
    expect(seqDiff(0, TOP)).toBe(1);
    expect(seqDiff(TOP, 0)).toBe(-1);
    expect(seqDiff(1420, 4294965796)).toBe(2920);
    expect(seqDiff(4294965796, 1420)).toBe(-2920);
    // The range is [-2^31, 2^31): exactly half the space ahead reads as behind.
    expect(seqDiff(0x80000000, 0)).toBe(-0x80000000);
    expect(seqDiff(0x7fffffff, 0)).toBe(0x7fffffff);
  });

  it('C4: comparisons hold across the wrap', () => {
    expect(seqLt(TOP, 0)).toBe(true);
    expect(seqGt(0, TOP)).toBe(true);
    expect(seqLe(TOP, TOP)).toBe(true);
    expect(seqGe(TOP, TOP)).toBe(true);
    expect(seqLt(0, TOP)).toBe(false);
    expect(seqGt(4294967256, 1420)).toBe(false);
    expect(seqLt(4294967256, 1420)).toBe(true);
    // Half the space away the order flips: a + 2^31 - 1 is after a, a + 2^31 before it.
    expect(seqGt(seqAdd(10, 0x7fffffff), 10)).toBe(true);
    expect(seqGt(seqAdd(10, 0x80000000), 10)).toBe(false);
  });

  it('C4: seqInRange is half-open and works when the range wraps', () => {
    const lo = TOP - 9; // the window [2^32 - 10, 10)
    const hi = seqAdd(lo, 20);
    expect(hi).toBe(10);
    expect(seqInRange(lo, lo, hi)).toBe(true);
    expect(seqInRange(TOP, lo, hi)).toBe(true);
    expect(seqInRange(0, lo, hi)).toBe(true);
    expect(seqInRange(9, lo, hi)).toBe(true);
    expect(seqInRange(10, lo, hi)).toBe(false);
    expect(seqInRange(lo - 1, lo, hi)).toBe(false);
    expect(seqInRange(5, 5, 5)).toBe(false);
  });
});
