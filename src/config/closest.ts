/**
 * The candidate a misspelt name most likely meant: the nearest within two edits (case ignored),
 * else the one sharing the longest start with it, when that start is at least 3 characters and
 * three quarters of the shorter of the two; undefined when nothing is that close.
 *
 * closest('mch_ids', ['mch_id', 'appids', 'api_key']) => 'mch_id'
 * closest('previous_api_key_valid_till', ['previous_api_key', 'previous_api_key_valid_until']) => 'previous_api_key_valid_until'
 * closest('ENVIRONMENT', ['ENV']) => 'ENV'
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let near: { candidate: string; distance: number } | undefined;
  let start: { candidate: string; length: number } | undefined;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    if (other === lower) continue;
    const distance = editDistance(lower, other);
    if (distance <= 2 && (near === undefined || distance < near.distance)) near = { candidate, distance };
    const shared = commonStart(lower, other);
    if (
      shared >= 3 &&
      shared >= 0.75 * Math.min(lower.length, other.length) &&
      (start === undefined || shared > start.length)
    ) {
      start = { candidate, length: shared };
    }
  }
  return near?.candidate ?? start?.candidate;
}

function commonStart(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Levenshtein distance: insertions, deletions and substitutions each count one. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
