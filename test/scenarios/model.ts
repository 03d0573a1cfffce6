export * from '../../src/scenario/model.js';
