export * from '../../src/scenario/report.js';
