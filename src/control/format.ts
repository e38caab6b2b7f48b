// Renders a GroupStatus (or a share group's ShareGroupStatus) as a one-screen report in the spirit of `ray status`.
import { formatDuration } from '../common/index.ts';
import type { GroupStatus } from './reader.ts';
import type { ShareGroupStatus } from './share-status.ts';

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export function formatGroupStatus(s: GroupStatus): string {
  const out: string[] = [];
  out.push(`======== Lagless status: group ${s.group} (${s.at}) ========`);
  out.push(`Group state (broker): ${s.state}; ${s.brokerMembers.length} consumer(s) in the group`);
  out.push('');
  out.push('Processes');
  const live = s.members.filter((m) => m.live);
  if (s.members.length === 0) out.push(' (no process has published a status for this group)');
  else {
    out.push(
      table(
        ['MEMBER', 'ROLE', 'HOST', 'PID', 'GUARANTEE', 'WORKERS', 'I/O', 'IN FLIGHT', 'IN/s', 'OUT/s', 'DEAD/s', 'PARTITIONS', 'SEEN'],
        s.members.map((m) => [
          m.member,
          m.role,
          m.host,
          m.pid,
          m.guarantee ?? 'at-least-once',
          m.role === 'supervisor' ? `${m.replicas?.running ?? 0} replicas${m.replicas?.standby?.length ? ` +${m.replicas.standby.length} standby` : ''}` : `${m.workers.busy}/${m.workers.active}/${m.workers.max}`,
          m.role === 'supervisor' ? '-' : `${m.io.active}/${m.io.max}`,
          m.inFlight,
          m.rates.in.toFixed(1),
          m.rates.out.toFixed(1),
          m.rates.dead.toFixed(1),
          m.role === 'supervisor' ? '-' : m.assigned.join(',') || '-',
          m.live ? `${formatDuration(m.ageMs)} ago` : `STALE ${formatDuration(m.ageMs)}`,
        ]),
      ),
    );
    out.push(" (WORKERS = busy/active/max CPU workers; I/O = records in the job's I/O (run() before its first worker call) / the limit)");
  }
  out.push('');
  out.push('Partitions');
  if (s.partitions.length === 0) out.push(' (no partition: the group has no commits and no members)');
  else
    out.push(
      table(
        ['TOPIC', 'PARTITION', 'LOG END', 'COMMITTED', 'LAG', 'OWNER'],
        s.partitions.map((p) => [p.topic, p.partition, p.logEnd, p.committed ?? '-', p.lag, p.owner ?? '-']),
      ),
    );
  out.push('');
  out.push('Totals');
  out.push(` lag ${s.totalLag} record(s); arrival ${s.rates.arrival.toFixed(1)}/s; in ${s.rates.in.toFixed(1)}/s; out ${s.rates.out.toFixed(1)}/s; dead letters ${s.rates.dead.toFixed(1)}/s`);
  const t = s.totals;
  out.push(` since start (live replicas): ${t.ok} ok, ${t.dead} dead letter(s), ${t.retries} retr${t.retries === 1 ? 'y' : 'ies'}, ${t.timeouts} timeout(s), ${t.workerCrashes} worker crash(es)`);
  out.push(` ${live.filter((m) => m.role === 'replica').length} live replica(s); workers ${s.workers.busy} busy / ${s.workers.active} active / ${s.workers.max} max; I/O ${s.io.active} / ${s.io.max}; ${s.inFlight} record(s) in flight`);
  out.push('');
  out.push('Autoscaler');
  const wish = [s.wish.replicas !== undefined ? `${s.wish.replicas} replica(s)` : '', s.wish.workers !== undefined ? `${s.wish.workers} worker(s)` : ''].filter(Boolean).join(', ');
  out.push(` wants: ${wish || '(no live process reports a wish)'}`);
  for (const r of s.wish.reasons) out.push(` ${r}`);
  const events = s.members
    .filter((m) => m.live)
    .flatMap((m) => (m.scaleEvents ?? []).map((e) => ({ ...e, member: m.member })))
    .sort((a, b) => a.at.localeCompare(b.at))
    .slice(-5);
  if (events.length > 0) {
    out.push(' recent scale events:');
    for (const e of events) out.push(`  ${e.at.slice(11, 19)} ${e.member}: ${e.reason}`);
  }
  return out.join('\n') + '\n';
}

/** A share group (KIP-932): its members and their partitions, and per partition where the group stands in the log. */
export function formatShareGroupStatus(s: ShareGroupStatus): string {
  const out: string[] = [];
  out.push(`======== Lagless status: share group ${s.group} (${s.at}) ========`);
  out.push(`Group type: share; state (broker): ${s.state}; epoch ${s.epoch}; ${s.members.length} member(s)`);
  out.push('');
  out.push('Members');
  if (s.members.length === 0) out.push(' (no member)');
  else
    out.push(
      table(
        ['MEMBER', 'CLIENT', 'HOST', 'PARTITIONS'],
        s.members.map((m) => [m.memberId, m.clientId, m.host, m.partitions.map((p) => `${p.topic}/${p.partition}`).join(',') || '-']),
      ),
    );
  out.push('');
  out.push('Partitions');
  if (s.partitions.length === 0) out.push(' (no partition: the group has no state and no member)');
  else {
    out.push(
      table(
        ['TOPIC', 'PARTITION', 'SHARE START', 'LOG END', 'BACKLOG', 'OWNERS'],
        s.partitions.map((p) => [p.topic, p.partition, p.startOffset < 0 ? '-' : p.startOffset, p.logEnd, p.backlog, p.owners.join(',') || '-']),
      ),
    );
    out.push(' (SHARE START = share-partition start offset, before which every record is done; BACKLOG = records not yet acknowledged)');
  }
  if (s.processes?.length) {
    out.push('');
    out.push('Processes (published statuses)');
    out.push(
      table(
        ['CLIENT', 'PID', 'STATE', 'HELD', 'ACQUIRED', 'REDELIVERED', 'RELEASED', 'OK', 'DEAD', 'DELIVERY_LIMIT'],
        s.processes.map((p) => [p.member, p.pid, p.live ? 'live' : 'stale', p.held, p.acquired, p.redelivered, p.released, p.ok, p.dead, p.deliveryLimit]),
      ),
    );
    out.push(' (HELD = acquired and not yet acknowledged; REDELIVERED = acquired with a delivery count above 1)');
  }
  out.push('');
  out.push('Totals');
  out.push(` backlog ${s.totalBacklog} record(s)`);
  return out.join('\n') + '\n';
}
