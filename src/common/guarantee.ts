// The delivery guarantees, named once: the runtime, the status records, the CLI and the metrics use these values.

/** What a crash may cost. Stable values: they appear in flags, the status record and metrics. */
export const Guarantees = ['at-least-once', 'exactly-once'] as const;
export type Guarantee = (typeof Guarantees)[number];
