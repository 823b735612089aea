// Preloaded into the soak's app process (node --expose-gc --import): SIGUSR2 runs a full GC, so
// RSS readings show what is retained, not what the collector has not got round to yet.
process.on('SIGUSR2', () => globalThis.gc?.());
