export * from '../../src/scenario/identity.js';
