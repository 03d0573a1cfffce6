export * from '../../src/scenario/classify.js';
