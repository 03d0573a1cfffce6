export * from '../../src/scenario/kube.js';
