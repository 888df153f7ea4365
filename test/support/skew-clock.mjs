/**
 * Preloaded with `node --import` (see SKEW_CLOCK in runner.ts): the runner's clock is RAAK_CLOCK_SKEW_MS ahead of
 * the real one (negative: behind). Date.now() and new Date() without arguments read the skewed clock; a Date made
 * from a value, Date.parse and performance.now() are as they were. IAM (moto) keeps the real time.
 */
const skew = Number(process.env.RAAK_CLOCK_SKEW_MS ?? '0');
if (!Number.isFinite(skew)) throw new Error(`RAAK_CLOCK_SKEW_MS is not a number: ${process.env.RAAK_CLOCK_SKEW_MS}`);
if (skew !== 0) {
  const RealDate = globalThis.Date;
  const realNow = RealDate.now.bind(RealDate);
  function SkewedDate(...args) {
    if (!new.target) return new RealDate(realNow() + skew).toString();
    return args.length === 0 ? new RealDate(realNow() + skew) : new RealDate(...args);
  }
  SkewedDate.prototype = RealDate.prototype;
  SkewedDate.now = () => realNow() + skew;
  SkewedDate.parse = RealDate.parse;
  SkewedDate.UTC = RealDate.UTC;
  globalThis.Date = SkewedDate;
}
