export * from './errors';
export * from './tensor';
export * from './model';
export * from './builders';
export * from './normalize';
