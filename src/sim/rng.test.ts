/**
 * Unit tests for seeded named streams: reproducible, independent by name, and in range.
 */
import { describe, expect, it } from 'vitest';
import { rngStream, type Rng } from './rng.js';

function draw(rng: Rng, count: number): number[] {
  return Array.from({ length: count }, () => rng.next());
}

describe('reproducibility', () => {
  it('the same name and seed give the same stream', () => {
    // Arrange
    const a = rngStream(42, 'link/10.0.0.1->10.0.0.2');
    const b = rngStream(42, 'link/10.0.0.1->10.0.0.2');
    // Act
    const fromA = [...draw(a, 100), a.int(0, 1000), a.uint32(), a.chance(0.5)];
    const fromB = [...draw(b, 100), b.int(0, 1000), b.uint32(), b.chance(0.5)];
    // Assert
    expect(fromA).toEqual(fromB);
  });

  it('a different seed gives a different stream for the same name', () => {
    // Arrange
    const a = rngStream(42, 'host/a/isn');
    const b = rngStream(43, 'host/a/isn');
    // Act
    const fromA = draw(a, 20);
    const fromB = draw(b, 20);
    // Assert
    expect(fromA).not.toEqual(fromB);
  });

  it('negative and large safe-integer seeds are accepted; unsafe seeds throw', () => {
    // Arrange + Act
    const negative = draw(rngStream(-1, 'x'), 5);
    const large = draw(rngStream(Number.MAX_SAFE_INTEGER, 'x'), 5);
    // Assert
    expect(negative).not.toEqual(large);
    expect(() => rngStream(1.5, 'x')).toThrow(/safe integer/);
    expect(() => rngStream(Number.NaN, 'x')).toThrow(/safe integer/);
    expect(() => rngStream(2 ** 53, 'x')).toThrow(/safe integer/);
  });
});

describe('independence by name', () => {
  it('different names give different streams under the same seed', () => {
    // Arrange
    const a = rngStream(7, 'link/10.0.0.1->10.0.0.2');
    const b = rngStream(7, 'link/10.0.0.2->10.0.0.1');
    // Act
    const fromA = draw(a, 20);
    const fromB = draw(b, 20);
    // Assert
    expect(fromA).not.toEqual(fromB);
  });

  it("drawing from one stream does not shift another's draws", () => {
    // Arrange: the reference stream drawn alone, and again with another stream drawn in between.
    const alone = draw(rngStream(7, 'host/b/ports'), 50);
    const interleaved = rngStream(7, 'host/b/ports');
    const other = rngStream(7, 'host/a/ports');
    // Act
    const mixed: number[] = [];
    for (let i = 0; i < 50; i++) {
      draw(other, 3);
      mixed.push(interleaved.next());
    }
    // Assert
    expect(mixed).toEqual(alone);
  });

  it('streams of different names are uncorrelated', () => {
    // Arrange
    const n = 20_000;
    const xs = draw(rngStream(11, 'a'), n);
    const ys = draw(rngStream(11, 'b'), n);
    // Act: Pearson correlation; for independent uniforms its standard deviation is 1/sqrt(n) ≈ 0.007.
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const mx = mean(xs);
    const my = mean(ys);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      sxy += (xs[i]! - mx) * (ys[i]! - my);
      sxx += (xs[i]! - mx) ** 2;
      syy += (ys[i]! - my) ** 2;
    }
    const r = sxy / Math.sqrt(sxx * syy);
    // Assert: 5 standard deviations.
    expect(Math.abs(r)).toBeLessThan(0.035);
  });
});

describe('ranges', () => {
  it('next() is in [0, 1) with mean near 1/2', () => {
    // Arrange
    const rng = rngStream(1, 'next');
    // Act
    const xs = draw(rng, 100_000);
    // Assert: standard deviation of the mean is sqrt(1/12/n) ≈ 0.0009; allow 5 of them.
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.0046);
  });

  it('int(lo, hi) stays in [lo, hi) and hits every value', () => {
    // Arrange
    const rng = rngStream(2, 'int');
    const counts = new Map<number, number>();
    // Act
    for (let i = 0; i < 70_000; i++) {
      const v = rng.int(-3, 4);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    // Assert: 7 values, 10,000 expected each (sd ≈ 93); allow ±500.
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('int(lo, lo + 1) always returns lo', () => {
    // Arrange
    const rng = rngStream(3, 'int1');
    // Act
    const values = new Set(Array.from({ length: 1000 }, () => rng.int(32768, 32769)));
    // Assert
    expect([...values]).toEqual([32768]);
  });

  it('uint32() is an unsigned 32-bit integer and uses the top bit', () => {
    // Arrange
    const rng = rngStream(4, 'u32');
    // Act
    const values = Array.from({ length: 10_000 }, () => rng.uint32());
    // Assert
    expect(values.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff)).toBe(true);
    expect(values.some((v) => v >= 0x8000_0000)).toBe(true);
    expect(values.some((v) => v < 0x8000_0000)).toBe(true);
  });

  it('chance(0) is never true and chance(1) always is', () => {
    // Arrange
    const rng = rngStream(5, 'chance');
    // Act
    const zeros = Array.from({ length: 10_000 }, () => rng.chance(0));
    const ones = Array.from({ length: 10_000 }, () => rng.chance(1));
    // Assert
    expect(zeros.some(Boolean)).toBe(false);
    expect(ones.every(Boolean)).toBe(true);
  });

  it('chance(p) is true at rate p', () => {
    // Arrange
    const rng = rngStream(6, 'chance-p');
    const n = 100_000;
    for (const p of [0.01, 0.25, 0.5, 0.9]) {
      // Act
      let hits = 0;
      for (let i = 0; i < n; i++) if (rng.chance(p)) hits++;
      // Assert: within 5 binomial standard deviations.
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(hits / n - p)).toBeLessThan(5 * sd);
    }
  });
});
