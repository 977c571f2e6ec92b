export * from './policy/retention';
