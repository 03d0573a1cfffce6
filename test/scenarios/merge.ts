export * from '../../src/scenario/merge.js';
