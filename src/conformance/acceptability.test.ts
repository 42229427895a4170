/**
 * RFC 9293 §3.10.7.4's acceptability test at the window's right edge, where Linux's
 * tcp_sequence differs from the RFC's text: a segment without data exactly at
 * RCV.NXT + RCV.WND is acceptable. Driven by a scripted peer, so the window is known exactly.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../net/address.js';
import { ACK, RST, SYN } from '../tcp/segment.js';
import { World } from '../world/world.js';

const HOST_IP = parseIpv4('10.0.0.1');
const PEER_IP = parseIpv4('10.0.0.2');
const WINDOW = 256;

function establishedWithSmallWindow() {
  const world = new World({ seed: 1, stack: { isn: { kind: 'fixed', value: 5000 }, receiveBufferBytes: WINDOW } });
  const host = world.addHost('host', { ip: HOST_IP });
  const peer = world.attachPeer('peer', PEER_IP);
  const fd = host.socket();
  host.bind(fd, 8080);
  host.listen(fd, 1);
  const base = { srcPort: 40000, dstIp: HOST_IP, dstPort: 8080, window: 65535 };
  peer.sendAt(0, { ...base, seq: 0, ack: 0, flags: SYN, mss: 1460 });
  peer.sendAt(1_000, { ...base, seq: 1, ack: 5001, flags: ACK });
  world.runUntil(2_000);
  const child = host.accept(fd);
  expect(child.ok).toBe(true);
  const seen: string[] = [];
  peer.onSegment((seg) => seen.push(`${seg.flags === ACK ? 'ack' : seg.flags === (RST | ACK) ? 'rst-ack' : seg.flags} seq ${seg.seq} ack ${seg.ack} win ${seg.window}`));
  return { world, host, peer, base, seen, fd: child.ok ? child.value : -1 };
}

describe('acceptability at the right edge of the receive window (Linux tcp_sequence)', () => {
  it('a RST exactly at RCV.NXT + RCV.WND gets a challenge ACK (RFC 5961 §3.2), one past it is dropped silently', () => {
    const { world, peer, base, seen } = establishedWithSmallWindow();
    peer.sendAt(10_000, { ...base, seq: 1 + WINDOW + 1, ack: 5001, flags: RST });
    peer.sendAt(20_000, { ...base, seq: 1 + WINDOW, ack: 5001, flags: RST });
    world.runUntil(30_000);
    expect(seen).toEqual([`ack seq 5001 ack 1 win ${WINDOW}`]);
  });

  it('the peer answers the challenge ACK with a RST at its ACK, which resets the connection', () => {
    const { world, host, peer, base, fd } = establishedWithSmallWindow();
    peer.sendAt(10_000, { ...base, seq: 1 + WINDOW, ack: 5001, flags: RST });
    peer.sendAt(11_000, { ...base, seq: 1, ack: 0, flags: RST });
    world.runUntil(20_000);
    const read = host.recv(fd, 10);
    expect(read.ok ? 'data' : read.errno).toBe('ECONNRESET');
  });
});
