/** The commands that meet real TCP: `check FILE.pcap` (captures) and `kernel FILE.json` (this machine's Linux). */
import type { Command } from 'commander';
import { z } from 'zod';
import { checkPcapCommand } from './check-pcap.js';
import { parseOrThrow } from './errors.js';
import type { CliIo } from './io.js';
import { flagName } from './options.js';

const positiveMs = z.coerce.number({ error: 'expected a number of milliseconds' }).positive({ error: 'expected a positive number of milliseconds' });

const checkOptionsSchema = z.object({ timeWaitMs: positiveMs.optional(), delayedAckMs: positiveMs.optional() });

export function registerWireCommands(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('run the monitors that judge from the wire on a real capture (pcap or pcapng)')
    .argument('<file>', 'capture file (tcpdump -w, dumpcap, Wireshark; Ethernet, raw IP or Linux cooked)')
    .option('--time-wait-ms <ms>', 'TIME-WAIT length to judge by (default 60000, Linux\'s fixed TCP_TIMEWAIT_LEN)')
    .option('--delayed-ack-ms <ms>', 'delayed-ACK timeout for the close shape (default 40, Linux\'s TCP_DELACK_MIN)')
    .action((file: string, raw: Record<string, unknown>) => {
      const o = parseOrThrow(checkOptionsSchema, raw, '', flagName);
      setExit(checkPcapCommand(file, { ...(o.timeWaitMs !== undefined ? { timeWaitMs: o.timeWaitMs } : {}), ...(o.delayedAckMs !== undefined ? { delayedAckMs: o.delayedAckMs } : {}) }, io));
    });
}
