export * from '../../src/scenario/pointer.js';
