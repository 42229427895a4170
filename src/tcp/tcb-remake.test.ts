/**
 * Tcb.remake: a CLOSED TCB made over for another connection (the host's free list) must be, field
 * for field and in the same order, the TCB the constructor makes. Each part writes its fields'
 * first values twice (where they are declared, and again in its `resetState`, TcbBase says why):
 * a field left out of `resetState`, or reset to another value than its declaration's, keeps or
 * gets a value no new TCB has, and fails this test.
 */
import { describe, expect, it } from 'vitest';
import { World } from '../world/world.js';
import type { Host } from './host.js';
import { ByteQueue } from './byte-queue.js';
import { Tcb } from './tcb.js';

const MS = 1_000;

/** Server-side TCB of one whole lifecycle with data both ways, SO_RCVBUF and SO_LINGER set: CLOSED, every part's fields used. */
function usedTcb(): { tcb: Tcb; host: Host } {
  const world = new World({ seed: 3, stack: { timestamps: 1, sack: true } });
  const client = world.addHost('client');
  const server = world.addHost('server');
  const listener = server.socket();
  server.setsockopt(listener, { name: 'SO_RCVBUF', value: 4096 });
  server.setsockopt(listener, { name: 'SO_LINGER', value: { onoff: true, lingerSec: 5 } });
  server.bind(listener, 80);
  server.listen(listener, 4);
  const fd = client.socket();
  client.connect(fd, server.ip, 80);
  world.runUntil(10 * MS);
  const accepted = server.accept(listener);
  if (!accepted.ok) throw new Error(`accept: ${accepted.errno}`);
  client.send(fd, new Uint8Array(3000).fill(7));
  world.runUntil(20 * MS);
  server.recv(accepted.value, 3000);
  server.send(accepted.value, new Uint8Array(500).fill(9));
  client.close(fd);
  world.runUntil(30 * MS);
  server.close(accepted.value);
  world.runUntil(10_000 * MS);
  const tcb = server.allTcbs.find((t) => t instanceof Tcb && t.passive);
  if (!(tcb instanceof Tcb) || tcb.state !== 'CLOSED') throw new Error('no CLOSED server TCB');
  return { tcb, host: server };
}

/** Every field of the TCB set to a value no new TCB has (containers get an element). */
function scribble(tcb: Tcb): void {
  const fields = tcb as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (typeof value === 'number') fields[key] = 424_242;
    else if (typeof value === 'boolean') fields[key] = !value;
    else if (typeof value === 'string') fields[key] = 'scribbled';
    else if (value === null) fields[key] = { scribbled: true };
    // The timer slots are a fixed five; every other array is a queue that starts empty.
    else if (key === 'timerHandles' && Array.isArray(value)) value.fill('scribbled');
    else if (Array.isArray(value)) value.push(77);
    else if (value instanceof ByteQueue) value.push(new Uint8Array([1, 2, 3]));
  }
}

describe('Tcb.remake', () => {
  it('gives the TCB the constructor gives, field for field and in order', () => {
    // Arrange
    const { tcb, host } = usedTcb();
    const id = { connId: 999, localIp: host.ip, localPort: 81, remoteIp: 0x0a00_0063, remotePort: 5555 };
    const options = { reuseAddr: true, lingerSec: null, rcvBufBytes: null, sndBufBytes: 8192 };
    const fresh = new Tcb(id, host.config, host, options);
    // Whatever the lifecycle left in a field, scribble over it, so that a field resetState
    // leaves out keeps a value no new TCB has.
    scribble(tcb);
    expect(tcb).not.toEqual(fresh);
    // Act
    const remade = tcb.remake(id, host.config, host, options);
    // Assert
    expect(remade).toBe(tcb);
    expect(remade).toEqual(fresh);
    expect(Object.keys(remade!)).toEqual(Object.keys(fresh));
  });

  it('is refused by a subclass, which may keep fields of its own', () => {
    class Variant extends Tcb {}
    const { host } = usedTcb();
    const id = { connId: 1, localIp: host.ip, localPort: 81, remoteIp: 1, remotePort: 2 };
    const variant = new Variant(id, host.config, host, { reuseAddr: false, lingerSec: null });
    expect(variant.remake(id, host.config, host, { reuseAddr: false, lingerSec: null })).toBeNull();
  });
});
