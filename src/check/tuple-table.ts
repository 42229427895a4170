/**
 * A hash table from a pair of non-negative 31-bit integers to a value, for `TupleMap`: open
 * addressing with linear probing, the keys in two arrays of small integers (plain arrays: a
 * typed array's buffer costs far more to make), backward-shift deletion (no tombstones). A `Map` keyed by one 52-bit number (the pair side by side) boxed that number on
 * every call and hashed a double: a tenth of a monitored lifecycle's CPU went to the connection
 * book's `get`, `set` and `delete`. Nothing iterates it, so its order is nobody's business.
 */
export class PairTable<T> {
  private keysHigh: number[];
  private keysLow: number[];
  private values: (T | undefined)[];
  private mask: number;
  private count = 0;

  constructor() {
    this.keysHigh = new Array<number>(MIN_CAPACITY).fill(EMPTY);
    this.keysLow = new Array<number>(MIN_CAPACITY).fill(0);
    this.values = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.mask = MIN_CAPACITY - 1;
  }

  get size(): number {
    return this.count;
  }

  get(high: number, low: number): T | undefined {
    const slot = this.find(high, low);
    return slot >= 0 ? this.values[slot] : undefined;
  }

  set(high: number, low: number, value: T): void {
    let slot = this.find(high, low);
    if (slot >= 0) {
      this.values[slot] = value;
      return;
    }
    if (4 * (this.count + 1) > 3 * this.keysHigh.length) {
      this.resize(2 * this.keysHigh.length);
      slot = this.find(high, low);
    }
    slot = ~slot;
    this.keysHigh[slot] = high;
    this.keysLow[slot] = low;
    this.values[slot] = value;
    this.count++;
  }

  delete(high: number, low: number): void {
    let hole = this.find(high, low);
    if (hole < 0) return;
    const keysHigh = this.keysHigh;
    const keysLow = this.keysLow;
    const values = this.values;
    const mask = this.mask;
    // Backward shift: every entry after the hole in its run that may sit in it moves back.
    for (let next = (hole + 1) & mask; keysHigh[next] !== EMPTY; next = (next + 1) & mask) {
      const home = slotOf(keysHigh[next]!, keysLow[next]!, mask);
      const homeBetween = hole < next ? hole < home && home <= next : hole < home || home <= next;
      if (homeBetween) continue;
      keysHigh[hole] = keysHigh[next]!;
      keysLow[hole] = keysLow[next]!;
      values[hole] = values[next];
      hole = next;
    }
    keysHigh[hole] = EMPTY;
    values[hole] = undefined;
    this.count--;
    // Monitors forget closed connections: give the memory back once a large table is nearly
    // empty. Far below the growth point, so that a table whose count goes up and
    // down by a few never resizes back and forth (it grows at three quarters full).
    if (SHRINK_BELOW_LOAD * this.count < keysHigh.length && keysHigh.length > SHRINK_ABOVE_CAPACITY) this.resize(keysHigh.length / 2);
  }

  /** The key's slot, or `~slot` of the empty slot where it would go. */
  private find(high: number, low: number): number {
    const keysHigh = this.keysHigh;
    const keysLow = this.keysLow;
    const mask = this.mask;
    for (let slot = slotOf(high, low, mask); ; slot = (slot + 1) & mask) {
      const at = keysHigh[slot]!;
      if (at === EMPTY) return ~slot;
      if (at === high && keysLow[slot] === low) return slot;
    }
  }

  private resize(capacity: number): void {
    const oldHigh = this.keysHigh;
    const oldLow = this.keysLow;
    const oldValues = this.values;
    this.keysHigh = new Array<number>(capacity).fill(EMPTY);
    this.keysLow = new Array<number>(capacity).fill(0);
    this.values = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    for (let slot = 0; slot < oldHigh.length; slot++) {
      const high = oldHigh[slot]!;
      if (high === EMPTY) continue;
      const to = ~this.find(high, oldLow[slot]!);
      this.keysHigh[to] = high;
      this.keysLow[to] = oldLow[slot]!;
      this.values[to] = oldValues[slot];
    }
  }
}

const EMPTY = -1;
const MIN_CAPACITY = 16;
const SHRINK_BELOW_LOAD = 16;
const SHRINK_ABOVE_CAPACITY = 1024;

/** The pair mixed into 32 bits (MurmurHash3's finaliser), so that the low bits a slot takes vary with every input bit. Exported for the tests, which pick colliding keys. */
export function slotOf(high: number, low: number, mask: number): number {
  let hash = Math.imul(high, 0x9e3779b1) ^ low;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash & mask;
}
