// An unhandled rejection fails the run (STYLE.md §8): a lost promise is a lost message.
process.on('unhandledRejection', (reason) => {
  throw reason;
});
