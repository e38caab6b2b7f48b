// A deadline on a promise that does not cancel it: every bounded step of a shutdown or a release waits this way.

/**
 * Whether `p` settled within `ms` (false when it rejected, or was still pending at the deadline; it keeps running either
 * way). `ms` of Infinity waits as long as it takes (a timer cannot: Node fires timers over 2^31 - 1 ms at once).
 */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = p.then(
    () => true,
    () => false,
  );
  if (ms === Infinity) return settled;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(r, Math.max(0, ms), false);
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
