// `lagless status --group G`: the group's processes, workers, per-partition lag, rates and the autoscaler's wish (like `ray status`).
import { Command } from 'commander';
import { DEFAULT_STATUS_TOPIC, formatGroupStatus, readGroupStatus } from '../../control/index.ts';
import { checkBrokers } from '../../kafka/index.ts';
import { resolveBrokers, type RegisterCommand } from '../context.ts';
import { addBrokersOption, durationArg } from '../options.ts';

export const register: RegisterCommand = (program, ctx) => {
  const cmd = addBrokersOption(
    new Command('status')
      .description("Show a consumer group: its processes and workers, per-partition lag, rates in and out, and the autoscaler's wish")
      .option('--group <name>', 'consumer group', 'lagless')
      .option('--status-topic <topic>', 'compacted topic where processes publish their status', DEFAULT_STATUS_TOPIC)
      .option('--json', 'print JSON')
      .option('--watch [interval]', 'refresh every interval (default 2s) until Ctrl-C')
      .addHelpText('after', '\nExamples:\n  $ lagless status --group palettes\n  $ lagless status --group palettes --json\n  $ lagless status --group palettes --watch 1s'),
  ).action(async (opts: { group: string; statusTopic: string; json?: boolean; watch?: string | boolean; brokers?: string }) => {
    const brokers = resolveBrokers(opts.brokers, ctx.env);
    await checkBrokers({ brokers });
    const intervalMs = opts.watch === undefined || opts.watch === false ? 0 : opts.watch === true ? 2000 : durationArg(opts.watch);
    for (;;) {
      const s = await readGroupStatus({ brokers, group: opts.group, statusTopic: opts.statusTopic });
      const text = opts.json ? JSON.stringify(s, null, 2) + '\n' : formatGroupStatus(s);
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
