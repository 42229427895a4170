import { EMPTY_PAYLOAD } from './segment.js';

/**
 * A FIFO of bytes kept as chunks, so appending and consuming never copy the whole buffer.
 *
 * Kept small for the 10^5-connection runs: an empty queue holds no array of its own (it shares
 * a frozen empty one), consumed chunks are stepped over by an index rather than sliced away,
 * and the bytes `peek` returns are carved out of shared slabs (see `allocateBytes`).
 */
export class ByteQueue {
  private chunks: Uint8Array[] = NO_CHUNKS;
  /** Index of the head chunk in `chunks`; those before it are consumed. */
  private first = 0;
  private headOffset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(bytes);
    this.total += bytes.length;
  }

  /** Copy `count` bytes starting `offset` bytes into the queue, without consuming them. */
  peek(offset: number, count: number): Uint8Array {
    if (offset < 0 || count < 0 || offset + count > this.total) throw new Error(`peek ${offset}+${count} outside ${this.total} bytes`);
    const out = allocateBytes(count);
    let skip = offset + this.headOffset;
    let written = 0;
    const chunks = this.chunks;
    for (let i = this.first; i < chunks.length && written < count; i++) {
      const chunk = chunks[i]!;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const take = Math.min(chunk.length - skip, count - written);
      out.set(skip === 0 && take === chunk.length ? chunk : chunk.subarray(skip, skip + take), written);
      written += take;
      skip = 0;
    }
    return out;
  }

  /** Remove and return up to `count` bytes from the front. */
  shift(count: number): Uint8Array {
    const take = Math.min(count, this.total);
    const out = this.peek(0, take);
    this.drop(take);
    return out;
  }

  /** Discard `count` bytes from the front. */
  drop(count: number): void {
    if (count > this.total) throw new Error(`drop ${count} of ${this.total} bytes`);
    this.total -= count;
    if (this.total === 0) {
      // Empty again: let the chunks go (an idle connection keeps no buffer).
      this.clear();
      return;
    }
    const chunks = this.chunks;
    let remaining = count + this.headOffset;
    let first = this.first;
    while (first < chunks.length && remaining >= chunks[first]!.length) {
      remaining -= chunks[first]!.length;
      first++;
    }
    this.headOffset = remaining;
    if (first >= COMPACT_AFTER_CHUNKS && 2 * first >= chunks.length) {
      // Many consumed chunks at the front: close the gap, so the array does not grow for ever.
      chunks.copyWithin(0, first);
      chunks.length -= first;
      first = 0;
    }
    this.first = first;
  }

  clear(): void {
    this.chunks = NO_CHUNKS;
    this.first = 0;
    this.headOffset = 0;
    this.total = 0;
  }
}

const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const COMPACT_AFTER_CHUNKS = 32;

/**
 * Fresh bytes for a copy, cut from 64 KiB slabs: a `new Uint8Array(1000)` is an ArrayBuffer of
 * its own, with a backing store the garbage collector must track and free, and at one per
 * segment that was a tenth of the simulator's time. A view into a slab is one small object.
 * A slab is freed once no view into it is left. The bytes are still a copy: nothing else
 * aliases them. Which slab a copy lands in never affects the simulation.
 */

function allocateBytes(count: number): Uint8Array {
  if (count === 0) return EMPTY_PAYLOAD;
  if (count > SLAB_BYTES / 8) return new Uint8Array(count);
  if (slabUsed + count > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, count);
  slabUsed += count;
  return out;
}

const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;
