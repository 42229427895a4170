/** The commands that meet real TCP: `check FILE.pcap` (captures) and `kernel FILE.json` (this machine's Linux). */
import type { Command } from 'commander';
import { z } from 'zod';
import { checkPcapCommand } from './check-pcap.js';
import { kernelCommand } from './kernel.js';
import { parseOrThrow } from './errors.js';
import type { CliIo } from './io.js';
import { flagName } from './options.js';

const positiveMs = z.coerce.number({ error: 'expected a number of milliseconds' }).positive({ error: 'expected a positive number of milliseconds' });

const checkOptionsSchema = z.object({ timeWaitMs: positiveMs.optional(), delayedAckMs: positiveMs.optional(), closeShape: z.boolean().default(false) });

export function registerWireCommands(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('check')
    .description('run the monitors that judge from the wire on a real capture (pcap or pcapng)')
    .argument('<file>', 'capture file (tcpdump -w, dumpcap, Wireshark; Ethernet, raw IP or Linux cooked)')
    .option('--time-wait-ms <ms>', 'TIME-WAIT length to judge by (default 60000, Linux\'s fixed TCP_TIMEWAIT_LEN)')
    .option('--close-shape', 'also judge the close shape (a prompt close in 3 segments): the simulator\'s rule, which real Linux does not always keep')
    .option('--delayed-ack-ms <ms>', 'with --close-shape: the delayed-ACK timeout (default 40, Linux\'s TCP_DELACK_MIN)')
    .action((file: string, raw: Record<string, unknown>) => {
      const o = parseOrThrow(checkOptionsSchema, raw, '', flagName);
      setExit(checkPcapCommand(file, { closeShape: o.closeShape, ...(o.timeWaitMs !== undefined ? { timeWaitMs: o.timeWaitMs } : {}), ...(o.delayedAckMs !== undefined ? { delayedAckMs: o.delayedAckMs } : {}) }, io));
    });

  program
    .command('kernel')
    .description('run a scenario file on this machine\'s Linux (private network namespace, root) and diff it with the simulator')
    .argument('<file>', 'scenario file (JSON; see docs/cli.md and examples/)')
    .option('--pcap <file>', 'also write the kernel\'s capture (tcpdump on lo) to FILE')
    .action(async (file: string, raw: { pcap?: string }) => {
      setExit(await kernelCommand(file, raw.pcap !== undefined ? { pcap: raw.pcap } : {}, io));
    });
}
