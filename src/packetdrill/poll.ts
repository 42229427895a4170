/**
 * poll(2) for packetdrill scripts, as Linux 6.x answers it for one TCP socket (tcp_poll,
 * inet_csk_listen_poll): the events a descriptor has now, from the reference endpoint's socket
 * and connection. Only the lifecycle bits are modelled: POLLIN/POLLRDNORM, POLLOUT/POLLWRNORM,
 * POLLERR, POLLHUP and POLLRDHUP (no urgent data, so never POLLPRI).
 */
import { Host } from '../tcp/host.js';
import type { Stack } from '../tcp/stack.js';
import { Tcb } from '../tcp/tcb.js';

/** Linux's poll bits (include/uapi/asm-generic/poll.h). */
export const POLL_BITS: Readonly<Record<string, number>> = {
  POLLIN: 0x1,
  POLLPRI: 0x2,
  POLLOUT: 0x4,
  POLLERR: 0x8,
  POLLHUP: 0x10,
  POLLNVAL: 0x20,
  POLLRDNORM: 0x40,
  POLLRDBAND: 0x80,
  POLLWRNORM: 0x100,
  POLLWRBAND: 0x200,
  POLLRDHUP: 0x2000,
};

const IN = POLL_BITS.POLLIN! | POLL_BITS.POLLRDNORM!;
const OUT = POLL_BITS.POLLOUT! | POLL_BITS.POLLWRNORM!;

/**
 * The events descriptor `fd` has (tcp_poll), or null when the stack is not the reference
 * endpoint (its sockets cannot be read). A descriptor that is not open is POLLNVAL.
 */
export function pollEvents(stack: Stack, fd: number): number | null {
  if (!(stack instanceof Host)) return null;
  const socket = stack.socketOf(fd);
  if (socket === undefined) return POLL_BITS.POLLNVAL!;
  // inet_csk_listen_poll: readable once a connection waits in the accept queue.
  if (socket.phase === 'listening') return socket.acceptQueue.length > 0 ? IN : 0;
  const tcb = socket.tcb;
  if (tcb === null) {
    // A socket with no connection is TCP_CLOSE with no shutdown: hung up, and writable.
    return POLL_BITS.POLLHUP! | OUT;
  }
  if (!(tcb instanceof Tcb)) return null;
  // tcp_done (a reset, a timeout, the end of the connection) and tcp_time_wait leave the
  // socket TCP_CLOSE with both directions shut down.
  const closed = tcb.state === 'CLOSED' || tcb.state === 'TIME-WAIT';
  const receiveShutdown = closed || tcb.peerFinReceived || tcb.readShutdown;
  const sendShutdown = closed || tcb.finQueued;
  let mask = 0;
  if ((receiveShutdown && sendShutdown) || closed) mask |= POLL_BITS.POLLHUP!;
  if (receiveShutdown) mask |= IN | POLL_BITS.POLLRDHUP!;
  if (tcb.state !== 'SYN-SENT' && tcb.state !== 'SYN-RECEIVED') {
    if (tcb.readableBytes > 0) mask |= IN;
    if (sendShutdown || tcb.writableForPoll) mask |= OUT;
  }
  if (tcb.error !== null) mask |= POLL_BITS.POLLERR!;
  return mask;
}
