// The bare @platformatic/kafka contender of the peers bench, as a child process: bareLoop of bench/pipeline/overhead.ts.
import { bareLoop } from '../pipeline/overhead.ts';
import { childArgs, runChild } from './child.ts';

const a = childArgs();
// bareLoop closes its clients once every record is acknowledged and committed; the process then waits for SIGTERM.
runChild(bareLoop(a.brokers, a.from, a.to, a.group, a.records), async () => {});
