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
});
