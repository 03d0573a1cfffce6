export * from '../../src/scenario/templates.js';
