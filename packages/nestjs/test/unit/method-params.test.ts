import { inferParamNames } from '@celeriac/core';

class Sample {
  plain(a: number, b: string) {
    return [a, b];
  }
  async defaults(to: string, body = 'a, (b)', /* c, d */ retries = 3) {
    return [to, body, retries];
  }
  destructured(first: string, { x }: { x: number }, last: number) {
    return [first, x, last];
  }
  rest(a: number, ...others: number[]) {
    return [a, others];
  }
}

describe('inferParamNames on provider methods', () => {
  it('reads parameter names of class methods; destructured ones are positional-only, rest ends the list', () => {
    const p = Sample.prototype;
    expect(inferParamNames(p.plain)).toEqual(['a', 'b']);
    expect(inferParamNames(p.defaults)).toEqual(['to', 'body', 'retries']);
    // a destructured parameter is positional-only (null); later names keep their positions
    expect(inferParamNames(p.destructured)).toEqual(['first', null, 'last']);
    expect(inferParamNames(p.rest)).toEqual(['a']);
    expect(inferParamNames(Math.max)).toBeNull();
  });
});
