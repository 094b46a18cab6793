/**
 * Linux /proc readings for the fan-out benchmark: a process's CPU time and memory, the machine's busy time,
 * and how many datagrams the kernel dropped on a process's UDP sockets (a full receive buffer).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on every Linux this runs on). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * utime + stime in µs of the whole process (all threads), or of one of its threads if `tid` is given (the
 * main thread's tid is the pid); undefined once it has gone.
 */
export function processCpuUs(pid: number, tid?: number): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: fields are counted after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(f[11]) + Number(f[12]);
  return (ticks * 1e6) / clockTicks();
}

/** processCpuUs of each thread of a process, by thread id (empty once it has gone). */
export function threadCpuUs(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    const us = processCpuUs(pid, Number(t));
    if (us !== undefined) out.set(Number(t), us);
  }
  return out;
}

/** Sum of processCpuUs over pids (gone ones count 0). */
export function totalCpuUs(pids: readonly number[]): number {
  let sum = 0;
  for (const p of pids) sum += processCpuUs(p) ?? 0;
  return sum;
}

/** VmRSS and VmHWM (peak) in KiB. */
export function processMemoryKb(pid: number): { rssKb: number; peakKb: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), peakKb: field('VmHWM') };
}

/**
 * Machine-wide jiffies from /proc/stat: busy (everything but idle and iowait), total, and steal (time the
 * hypervisor ran something else; counted in busy). Guest time is already included in user, so it is left out.
 */
export function machineJiffies(): { busy: number; total: number; steal: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total, steal: v[7] ?? 0 };
}

/** Direct children of a process (from every thread's `children` list). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** The command name (`comm`) of a process. */
export function processName(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/**
 * Datagrams the kernel dropped on the UDP sockets these processes hold (receive buffer full), from the
 * `drops` column of /proc/net/udp. Cumulative per socket, so take differences.
 */
export function udpDrops(pids: readonly number[]): { sockets: number; drops: number; bySocket: Map<string, number> } {
  const inodes = new Set<string>();
  for (const p of pids) for (const i of socketInodes(p)) inodes.add(i);
  let sockets = 0;
  let drops = 0;
  const bySocket = new Map<string, number>();
  let text = '';
  try {
    text = fs.readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return { sockets, drops, bySocket };
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    // inode is column 10 (0-based 9), drops the last
    if (!inodes.has(cols[9]!)) continue;
    sockets++;
    const d = Number(cols[cols.length - 1]);
    drops += d;
    bySocket.set(cols[9]!, d);
  }
  return { sockets, drops, bySocket };
}
