// `lagless topics create|list`: topic administration against any Kafka cluster.
import { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { createAdmin, ensureTopic, listTopics, toLaglessError } from '../../kafka/index.ts';
import { resolveBrokers } from '../context.ts';
import { addBrokersOption, intArg } from '../options.ts';
import type { RegisterCommand } from '../context.ts';

export const register: RegisterCommand = (program, ctx) => {
  const topics = new Command('topics').description('Create and list Kafka topics');

  addBrokersOption(
    topics
      .command('create')
      .description('Create a topic (an existing one with the same partition count is fine: exit 0)')
      .argument('<name>', 'topic name')
      .requiredOption('--partitions <n>', 'number of partitions', intArg(1, 100_000))
      .option('--replication-factor <n>', 'replicas per partition', intArg(1, 32), 1)
      .option('--config <key=value...>', 'topic configuration entries, e.g. cleanup.policy=compact')
      .addHelpText('after', '\nExample:\n  $ lagless topics create urls --partitions 8'),
  ).action(async (name: string, opts: { partitions: number; replicationFactor: number; config?: string[]; brokers?: string }) => {
    const brokers = resolveBrokers(opts.brokers, ctx.env);
    const configs: Record<string, string> = {};
    for (const entry of opts.config ?? []) {
      const i = entry.indexOf('=');
      if (i <= 0) throw new UsageError(`option --config: expected key=value, got "${entry}"`);
      configs[entry.slice(0, i)] = entry.slice(i + 1);
    }
    const admin = createAdmin({ brokers });
    try {
      const res = await ensureTopic(admin, { name, partitions: opts.partitions, replicationFactor: opts.replicationFactor, configs }, brokers);
      ctx.stdout.write(
        res.created
          ? `Created topic ${name} with ${res.partitions} partitions.\n`
          : `Topic ${name} already exists with ${res.partitions} partitions: nothing to do.\n`,
      );
    } finally {
      await admin.close().catch(() => {});
    }
  });

  addBrokersOption(
    topics
      .command('list')
      .description('List topics with their partition counts')
      .option('--all', 'include internal topics (__consumer_offsets, ...)')
      .option('--json', 'print JSON'),
  ).action(async (opts: { all?: boolean; json?: boolean; brokers?: string }) => {
    const brokers = resolveBrokers(opts.brokers, ctx.env);
    const admin = createAdmin({ brokers });
    try {
      const list = await listTopics(admin, brokers, opts.all ?? false).catch((err) => {
        throw toLaglessError(err, brokers, 'listing topics');
      });
      if (opts.json) {
        ctx.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      if (list.length === 0) {
        ctx.stdout.write('No topics.\n');
        return;
      }
      const width = Math.max(5, ...list.map((t) => t.name.length));
      ctx.stdout.write(`${'TOPIC'.padEnd(width)}  PARTITIONS\n`);
      for (const t of list) ctx.stdout.write(`${t.name.padEnd(width)}  ${t.partitions}\n`);
    } finally {
      await admin.close().catch(() => {});
    }
  });

  program.addCommand(topics);
};
