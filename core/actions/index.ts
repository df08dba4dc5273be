// Public surface of the action core (no Node-RED imports anywhere below core/).
export * from './types';
export * from './run';
export * from './names';
export * from './template';
export * from './mode';
export * from './lock';
export * from './move';
export * from './quarantine';
export * from './chmod';
export * from './rename';
export * from './email';
