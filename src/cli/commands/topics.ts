// `lagless topics create|list`: topic administration against any Kafka cluster.
import { Command } from 'commander';
import { UsageError } from '../../errors/index.ts';
import { checkBrokers, createAdmin, ensureTopic, listTopics, toLaglessError } from '../../kafka/index.ts';
import { addKafkaOptions, kafkaConnection, KAFKA_OPTIONS_HELP, type KafkaFlags } from '../connection-options.ts';
import { intArg } from '../options.ts';
import type { RegisterCommand } from '../context.ts';

export const register: RegisterCommand = (program, ctx) => {
  const topics = new Command('topics').description('Create and list Kafka topics');

  addKafkaOptions(
    topics
      .command('create')
      .description('Create a topic (an existing one with the same partition count is fine: exit 0)')
      .argument('<name>', 'topic name')
      .requiredOption('--partitions <n>', 'number of partitions', intArg(1, 100_000))
      .option('--replication-factor <n>', "replicas per partition (default: the cluster's default.replication.factor: 1 on one node, 3 on a 3-node cluster)", intArg(1, 32))
      .option('--config <key=value...>', 'topic configuration entries, e.g. cleanup.policy=compact')
      .addHelpText('after', `${KAFKA_OPTIONS_HELP}\n\nExample:\n  $ lagless topics create urls --partitions 8\n  $ lagless topics create urls --partitions 8 --kafka-config client.properties`),
  ).action(async (name: string, opts: KafkaFlags & { partitions: number; replicationFactor?: number; config?: string[] }) => {
    const kafka = kafkaConnection(opts, ctx);
    const configs: Record<string, string> = {};
    for (const entry of opts.config ?? []) {
      const i = entry.indexOf('=');
      if (i <= 0) throw new UsageError(`option --config: expected key=value, got "${entry}"`);
      configs[entry.slice(0, i)] = entry.slice(i + 1);
    }
    await checkBrokers(kafka);
    const admin = createAdmin(kafka);
    try {
      const res = await ensureTopic(admin, { name, partitions: opts.partitions, ...(opts.replicationFactor !== undefined ? { replicationFactor: opts.replicationFactor } : {}), configs }, kafka);
      ctx.stdout.write(
        res.created
          ? `Created topic ${name} with ${res.partitions} partitions.\n`
          : `Topic ${name} already exists with ${res.partitions} partitions: nothing to do.\n`,
      );
    } finally {
      await admin.close().catch(() => {});
    }
  });

  addKafkaOptions(
    topics
      .command('list')
      .description('List topics with their partition counts')
      .option('--all', 'include internal topics (__consumer_offsets, ...)')
      .option('--json', 'print JSON')
      .addHelpText('after', KAFKA_OPTIONS_HELP),
  ).action(async (opts: KafkaFlags & { all?: boolean; json?: boolean }) => {
    const kafka = kafkaConnection(opts, ctx);
    await checkBrokers(kafka);
    const admin = createAdmin(kafka);
    try {
      const list = await listTopics(admin, kafka, opts.all ?? false).catch((err) => {
        throw toLaglessError(err, kafka, 'listing topics');
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
