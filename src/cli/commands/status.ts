// `lagless status --group G`: the group's processes, workers, per-partition lag, rates and the autoscaler's wish (like `ray status`);
// for a share group (KIP-932), its members and per-partition backlog.
import { Command } from 'commander';
import { DEFAULT_STATUS_TOPIC, formatGroupStatus, formatShareGroupStatus, isShareGroupStatus, readGroupStatus, readShareGroupStatus, readStatuses, withProcesses } from '../../control/index.ts';
import { checkBrokers } from '../../kafka/index.ts';
import type { RegisterCommand } from '../context.ts';
import { addKafkaOptions, kafkaConnection, KAFKA_OPTIONS_HELP, type KafkaFlags } from '../connection-options.ts';
import { durationArg } from '../options.ts';

export const register: RegisterCommand = (program, ctx) => {
  const cmd = addKafkaOptions(
    new Command('status')
      .description("Show a consumer group: its processes and workers, per-partition lag, rates in and out, and the autoscaler's wish; or a share group: its members and per-partition backlog")
      .option('--group <name>', 'consumer group, or share group', 'lagless')
      .option('--status-topic <topic>', 'compacted topic where processes publish their status', DEFAULT_STATUS_TOPIC)
      .option('--json', 'print JSON')
      .option('--watch [interval]', 'refresh every interval (default 2s) until Ctrl-C')
      .addHelpText('after', KAFKA_OPTIONS_HELP + '\n\nFor a share group (KIP-932), it lists the members and their partitions, and per partition the share-partition\nstart offset, the log end and the backlog (records not yet acknowledged).\n\nExamples:\n  $ lagless status --group palettes\n  $ lagless status --group palettes --json\n  $ lagless status --group palettes --watch 1s'),
  ).action(async (opts: KafkaFlags & { group: string; statusTopic: string; json?: boolean; watch?: string | boolean }) => {
    const kafka = kafkaConnection(opts, ctx);
    await checkBrokers(kafka);
    const intervalMs = opts.watch === undefined || opts.watch === false ? 0 : opts.watch === true ? 2000 : durationArg(opts.watch);
    for (;;) {
      // A share group answers ShareGroupDescribe; any other name (a consumer group, or none yet) is read as before.
      const share = await readShareGroupStatus({ kafka, group: opts.group });
      const s = share ? withProcesses(share, await readStatuses(kafka, opts.statusTopic)) : await readGroupStatus({ kafka, group: opts.group, statusTopic: opts.statusTopic });
      const text = opts.json ? JSON.stringify(s, null, 2) + '\n' : isShareGroupStatus(s) ? formatShareGroupStatus(s) : formatGroupStatus(s);
      if (intervalMs && ctx.stdout.isTTY) ctx.stdout.write('\x1b[2J\x1b[H');
      ctx.stdout.write(text);
      if (!intervalMs || ctx.signal.aborted) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      if (ctx.signal.aborted) return;
    }
  });
  program.addCommand(cmd);
};
