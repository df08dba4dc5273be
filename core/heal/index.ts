// Gap healing: checkpoints, snapshot diff, tree walk, duplicate suppression, persisted markers.
export * from './types';
export * from './events';
export * from './diff';
export * from './walk';
export * from './dedup';
export * from './ledger';
export * from './checkpoints';
export * from './marker';
export * from './healer';
export * from './concurrency';
export * from './progress';
