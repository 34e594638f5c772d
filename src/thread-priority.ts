/**
 * Background threads (the telemetry writer, the hook events sender) run at a lower
 * priority than the thread that serves requests: when both want a core, the request goes
 * first, and the background work takes the idle time after it. The work is the same; only
 * who waits changes, and a batch of telemetry or events is due in 100 ms, not in 100 µs.
 *
 * Linux keeps a nice value per thread, set with setpriority(2) on the thread's id (which
 * os.setPriority passes through); /proc/thread-self names the calling thread. Raising
 * one's own nice value needs no privilege. Elsewhere, or if it fails, nothing changes.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How many nice steps background threads run below the process: below requests, above idle. */
export const BACKGROUND_STEPS = 10;

/**
 * lowerThisThread lowers the calling thread's priority by `steps` nice values from where
 * it is (a process started with `nice -n 5` gets 15; never past 19); true if it could.
 */
export function lowerThisThread(steps = BACKGROUND_STEPS): boolean {
  if (process.platform !== 'linux') return false;
  try {
    // "<pid>/task/<tid>"
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid === process.pid) return false; // never the main thread
    setPriority(tid, Math.min(19, getPriority(tid) + steps));
    return true;
  } catch {
    return false;
  }
}
