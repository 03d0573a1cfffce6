export * from '../../src/scenario/parse.js';
