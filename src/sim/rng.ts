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
  return new NamedStream(`${rootSeed}/${name}`);
}

/**
 * A stream seeded on its first draw, not when it is made. Seeding Alea hashes the whole key
 * three times and builds its closures (a twentieth of a campaign's time with one stream per
 * flow direction), yet most streams never draw: on a clean link `chance(0)` and zero jitter
 * draw nothing. The draws, when they come, are the same as with eager seeding.
 */
class NamedStream implements Rng {
  private prng: seedrandom.PRNG | null = null;

  constructor(private readonly key: string) {}

  next(): number {
    return this.source().double();
  }

  int(lo: number, hiExclusive: number): number {
    return lo + Math.floor(this.source().double() * (hiExclusive - lo));
  }

  uint32(): number {
    return this.source().int32() >>> 0;
  }

  chance(p: number): boolean {
    return p > 0 && this.source().double() < p;
  }

  private source(): seedrandom.PRNG {
    // Alea is fast and well-distributed; the stream key is the root seed and the stream's name.
    return (this.prng ??= seedrandom.alea(this.key));
  }
}
