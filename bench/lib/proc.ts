import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system) a process has used so far, in ms, from /proc. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Resident memory of a process, in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/**
 * CPU time (user + system) used so far by every process of this name (its command, as in
 * /proc/PID/comm: `postgres` for PostgreSQL's server and backends), in ms. A process that
 * ends between the listing and the read is skipped.
 */
export function cpuTimeOfCommandMs(command: string): number {
  let ms = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) {
        ms += cpuTimeMs(Number(entry));
      }
    } catch {
      // gone since the listing
    }
  }
  return ms;
}
