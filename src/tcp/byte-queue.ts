/** A FIFO of bytes kept as chunks, so appending and consuming never copy the whole buffer. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private headOffset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.total += bytes.length;
  }

  /** Copy `count` bytes starting `offset` bytes into the queue, without consuming them. */
  peek(offset: number, count: number): Uint8Array {
    if (offset < 0 || count < 0 || offset + count > this.total) throw new Error(`peek ${offset}+${count} outside ${this.total} bytes`);
    const out = new Uint8Array(count);
    let skip = offset + this.headOffset;
    let written = 0;
    for (let i = 0; i < this.chunks.length && written < count; i++) {
      const chunk = this.chunks[i]!;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const take = Math.min(chunk.length - skip, count - written);
      out.set(chunk.subarray(skip, skip + take), written);
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
    let remaining = count + this.headOffset;
    let first = 0;
    while (first < this.chunks.length && remaining >= this.chunks[first]!.length) {
      remaining -= this.chunks[first]!.length;
      first++;
    }
    if (first > 0) this.chunks = this.chunks.slice(first);
    this.headOffset = remaining;
  }

  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.total = 0;
  }
}
