/**
 * 32-bit sequence-number arithmetic (RFC 9293 §3.4). Every comparison is by wrapping
 * subtraction, so ISNs just below 2^32 work like any other (smoltcp's `SeqNumber`).
 */

export const SEQ_MOD = 0x1_0000_0000;

/** a + n, modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** The signed distance b - a, in [-2^31, 2^31): a distance of exactly 2^31 reads as -2^31. */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** lo <= x < hi, modulo 2^32. */
export function seqInRange(x: number, lo: number, hiExclusive: number): boolean {
  return seqLe(lo, x) && seqLt(x, hiExclusive);
}
