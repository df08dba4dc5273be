export * from './log';
export * from './record';
export * from './export';
export * from './recorder';
