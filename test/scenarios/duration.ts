export * from '../../src/scenario/duration.js';
