/**
 * What a v2 field name may be: XML element names WeChat uses (letters, digits, underscores).
 * The gateway's parser allows no other, but the core is also called directly over gRPC, and a
 * name holding `&` or `=` re-cuts the signed text `k=v&k=v` with no trace in any value
 * (recut-suspicion.ts looks at values). So the core checks the names itself.
 */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The first field name that is not one, if any (cut, for a log line). Pure. */
export function invalidFieldName(fields: Readonly<Record<string, string>>): string | undefined {
  const bad = Object.keys(fields).find((name) => !FIELD_NAME.test(name));
  return bad === undefined ? undefined : bad.slice(0, 64);
}
