// The loop guard's public surface (see docs/loop-guard.md).
export * from './ledger';
export * from './chains';
export * from './breaker';
export * from './guard';
export * from './shared-ledger';
export * from './registry';
