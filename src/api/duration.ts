// Go-style durations ("90s", "30m", "1h30m"), the format CEL's duration() and Kubernetes use.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const UNITS = Object.keys(UNIT_MS).join("|");
/** One number and its unit; a duration is one or more of them. */
const PART = new RegExp(`([0-9]+(?:\\.[0-9]+)?)(${UNITS})`, "gy");
/** The same grammar as a pattern, for the CRD schemas and their CEL rules. */
export const DURATION_PATTERN = `^([0-9]+(\\.[0-9]+)?(${UNITS}))+$`;

/** Milliseconds in a Go duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let end = 0;
  for (const m of text.matchAll(PART)) {
    if (m.index !== end) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? Number.NaN);
    end = m.index + m[0].length;
  }
  return end === text.length && Number.isFinite(total) ? Math.round(total) : undefined;
}

/** A compact Go-style rendering: 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}
