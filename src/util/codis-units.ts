// Codis 3.2's text forms of durations (timesize.Duration: "30s", "5m") and sizes (bytesize.Int64:
// "32mb"), which its Go tools decode from the dashboard's and the proxies' JSON (a number there is a
// decode error). Used by the Codis-compatible views of both processes.

/** Codis's timesize.Duration text: the largest whole unit ("30s", "5m", "1500ms"; "0" for zero). */
export function codisDuration(ms: number): string {
  if (ms === 0) return '0';
  const units: Array<[number, string]> = [
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
    [1, 'ms'],
  ];
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms * 1000)}us`;
}

/** Codis's bytesize.Int64 text: the largest whole unit ("32mb", "512kb", "100b"). */
export function codisBytes(n: number): string {
  const units: Array<[number, string]> = [
    [1024 ** 4, 'tb'],
    [1024 ** 3, 'gb'],
    [1024 ** 2, 'mb'],
    [1024, 'kb'],
  ];
  for (const [size, unit] of units) if (n !== 0 && n % size === 0) return `${n / size}${unit}`;
  return `${n}b`;
}
