import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak resident memory of this process, as Linux keeps it (VmHWM): a test that must stay within
 * bounds reads the peak rather than sampling, so a short spike between samples cannot escape.
 */
export function peakRss(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('/proc/self/status has no VmHWM line');
  return Number(match[1]) * 1024;
}

/** Starts a new peak from the present resident size; returns that size. */
export function resetPeakRss(): number {
  writeFileSync('/proc/self/clear_refs', '5');
  return peakRss();
}

export const MiB = 1024 * 1024;
