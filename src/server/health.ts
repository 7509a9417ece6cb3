import { HealthImplementation } from 'grpc-health-check';

/** The service name health checks and Kubernetes probes ask about; "" means the whole server. */
const PAYMENT_CALLBACK_SERVICE = 'payment.callback.v1.PaymentCallback';

/** grpc.health.v1: SERVING while the core accepts work, NOT_SERVING once shutdown begins. */
export function createHealth(): { health: HealthImplementation; setServing: (serving: boolean) => void } {
  const health = new HealthImplementation({ '': 'NOT_SERVING', [PAYMENT_CALLBACK_SERVICE]: 'NOT_SERVING' });
  return {
    health,
    setServing: (serving) => {
      const s = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', s);
      health.setStatus(PAYMENT_CALLBACK_SERVICE, s);
    },
  };
}
