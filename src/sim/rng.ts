/**
 * Seeded randomness. One root seed (an integer fast-check draws) gives named, independent
 * streams: `rngStream(seed, 'link/10.0.0.1->10.0.0.2')`. A stream depends only on the root seed
 * and its name, so adding a host never shifts another link's draws (turmoil's per-host rngs).
 * Never `Math.random`; never seedrandom's global mode.
 */
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hiExclusive). */
  int(lo: number, hiExclusive: number): number;
  /** Uniform 32-bit unsigned integer. */
  uint32(): number;
  /** True with probability p. */
  chance(p: number): boolean;
}

export function rngStream(rootSeed: number, name: string): Rng {
  if (!Number.isSafeInteger(rootSeed)) throw new Error(`seed must be a safe integer, got ${rootSeed}`);
  // Alea is fast and well-distributed; the stream key is the root seed and the stream's name.
  const prng = seedrandom.alea(`${rootSeed}/${name}`);
  return {
    next: () => prng.double(),
    int: (lo, hiExclusive) => lo + Math.floor(prng.double() * (hiExclusive - lo)),
    uint32: () => prng.int32() >>> 0,
    chance: (p) => p > 0 && prng.double() < p,
  };
}
