// Example: filter and fan-out. Shop events in; clicks are dropped, each order becomes a summary on the output topic
// and one record per line item on a second topic, keyed by SKU.
//
//   lagless run examples/filter-fanout/job.ts --from shop-events --to orders
//   (ITEMS_TOPIC names the second topic; default "order-items")
import { defineJob, JobError, type JobOutput } from 'lagless';

/** The second output topic: declared in `outputs`, so the runtime creates it at start and lets outputs name it. */
const ITEMS_TOPIC = process.env.ITEMS_TOPIC ?? 'order-items';

interface ShopEvent {
  type: 'click' | 'order';
  id: string;
  customer?: string;
  items?: { sku: string; qty: number; price: number }[];
}

export default defineJob({
  name: 'shop-orders',
  outputs: [ITEMS_TOPIC],

  run(record) {
    const event = record.json<ShopEvent>();
    // Filter: nothing to produce, and the record is done.
    if (event.type === 'click') return null;
    if (event.type !== 'order' || !Array.isArray(event.items) || event.items.length === 0) {
      throw new JobError('NOT_AN_ORDER', `event ${JSON.stringify(event.id)} is neither a click nor an order with items`);
    }
    const total = event.items.reduce((sum, i) => sum + i.qty * i.price, 0);
    // Fan-out: the summary to --to (keyed by the input's key, the default), one record per item to ITEMS_TOPIC.
    const summary: JobOutput = { value: JSON.stringify({ order: event.id, customer: event.customer, items: event.items.length, total }) };
    const items: JobOutput[] = event.items.map((item, line) => ({
      topic: ITEMS_TOPIC,
      key: item.sku,
      value: JSON.stringify({ order: event.id, line, ...item }),
      headers: { 'order-id': event.id },
    }));
    return [summary, ...items];
  },

  // Dead letters carry the event's id next to the error, for whoever replays them.
  deadLetterFields(record) {
    try {
      return { id: record.json<ShopEvent>().id };
    } catch {
      return undefined;
    }
  },
});
