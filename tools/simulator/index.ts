// The WeChat-side notifier simulator: what WeChat Pay does when it tells a merchant a payment
// succeeded, reproducible and time-compressible, for trying a deployment and for tests.
export * from './bad-notifications';
export * from './delivery-log';
export * from './duplicate-sender';
export * from './http-transport';
export * from './notification-builder';
export * from './notification-mix';
export * from './order-registrar';
export * from './random';
export * from './reply-check';
export * from './retry-schedule';
export * from './semaphore';
export * from './sender';
export * from './simulation';
export * from './summary';
export * from './v2-refund-notification';
export * from '../../harness/v2-signature';
export * from './v3-notification';
