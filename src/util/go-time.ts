/**
 * Times as Go writes them into image configs (`time.Time` marshals as RFC 3339 with nanoseconds,
 * trailing zeros of the fraction dropped): `2020-01-01T00:00:00Z`, not JavaScript's
 * `2020-01-01T00:00:00.000Z`. The same instant spelled differently is a different config digest.
 */

/** `date` as Go's `time.RFC3339Nano` in UTC. */
export function goTime(date: Date): string {
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`));
}
