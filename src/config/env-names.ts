import { closest } from './closest';

/** The prefix the core owns: every variable under it must be one the core reads. */
const OWN_PREFIX = 'PAYMENT_CALLBACK_';

/**
 * The variables Kubernetes adds for every Service of the namespace (enableServiceLinks, on by
 * default): a Service "payment-callback-core" gives PAYMENT_CALLBACK_CORE_SERVICE_HOST,
 * ..._SERVICE_PORT, ..._PORT, ..._PORT_50051_TCP, ..._PORT_50051_TCP_ADDR and so on. They are
 * not settings, and refusing them would stop the core in its own namespace.
 */
const SERVICE_LINK =
  /^[A-Z0-9_]+_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT(?:_\d{1,5}_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)$/;

/**
 * One problem per PAYMENT_CALLBACK_* variable the core does not read: a misspelt
 * PAYMENT_CALLBACK_ENVIRONMENT=production would otherwise leave the core in development. `known`
 * holds the variables the core reads, including those the merchants and callers files name in
 * *_env fields. The value is never shown: it may be a secret.
 *
 * unknownOwnVariables({ PAYMENT_CALLBACK_ENVIRONMENT: 'production' }, new Set(['PAYMENT_CALLBACK_ENV']))
 *   => ['PAYMENT_CALLBACK_ENVIRONMENT is not a setting of the core (did you mean PAYMENT_CALLBACK_ENV?); ...']
 */
export function unknownOwnVariables(
  env: Readonly<Record<string, string | undefined>>,
  known: ReadonlySet<string>,
): string[] {
  const own = [...known].filter((name) => name.startsWith(OWN_PREFIX));
  return Object.keys(env)
    .filter(
      (name) => name.startsWith(OWN_PREFIX) && env[name] !== undefined && !known.has(name) && !SERVICE_LINK.test(name),
    )
    .sort()
    .map((name) => {
      // Compared after the prefix, which every candidate shares.
      const guess = closest(
        name.slice(OWN_PREFIX.length),
        own.map((o) => o.slice(OWN_PREFIX.length)),
      );
      return (
        `${name} is not a setting of the core${guess ? ` (did you mean ${OWN_PREFIX}${guess}?)` : ''}; ` +
        `the core reads only ${own.join(', ')} under the ${OWN_PREFIX} prefix: fix the name or remove the variable`
      );
    });
}
