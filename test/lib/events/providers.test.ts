import assert from 'node:assert/strict';
import { GamepipeError } from '../../../src/lib/core/errors.js';
import {
  DEFAULT_PROVIDERS,
  parseProviders,
  providerMatcher,
} from '../../../src/lib/events/providers.js';
import { chiSquareAgainst, gammaQ, mixDistance } from '../../../src/lib/analysis/stats.js';

describe('lib/providers', () => {
  const match = providerMatcher(DEFAULT_PROVIDERS);

  it('matches a provider as a whole domain label, not a substring', () => {
    assert.equal(match('seattle.comcast.net'), 'comcast');
    assert.equal(match('user1.att.com'), 'att');
    assert.equal(match('matter.example.com'), 'other');
    assert.equal(match('user12.comcast.com'), 'comcast');
    assert.equal(match('USER3.COX.COM'), 'cox');
    assert.equal(match('user3.cox.com:5000'), 'cox');
    assert.equal(match('coxswain.net'), 'other');
    assert.equal(match('attic.google.com'), 'google');
    assert.equal(match(''), 'other');
    assert.equal(match(null), 'other');
  });

  it('takes the list from the caller, in order', () => {
    const m = providerMatcher(parseProviders('att,google'));
    assert.equal(m('att.google.com'), 'att');
    assert.equal(m('user1.comcast.com'), 'other');
  });

  it('refuses a bad provider list', () => {
    for (const bad of ['', ',,', 'a.b', 'other', 'x y', 'att,att']) {
      assert.throws(
        () => parseProviders(bad),
        (e: unknown) => e instanceof GamepipeError && e.code === 'GP_USAGE',
        bad,
      );
    }
  });
});

describe('lib/stats', () => {
  it('gammaQ gives chi-square p-values', () => {
    // the 5 % critical values of the chi-square distribution
    assert.ok(Math.abs(gammaQ(0.5, 3.841 / 2) - 0.05) < 1e-3);
    assert.ok(Math.abs(gammaQ(2.5, 11.07 / 2) - 0.05) < 1e-3);
    assert.ok(Math.abs(gammaQ(5, 18.307 / 2) - 0.05) < 1e-3);
    assert.equal(gammaQ(3, 0), 1);
  });

  it('a sample of the same mix is not significant; a shifted one is', () => {
    const same = chiSquareAgainst([205, 290, 505], [2000, 3000, 5000]);
    assert.ok(same.pValue > 0.05, `p ${same.pValue}`);
    const shifted = chiSquareAgainst([500, 200, 300], [2000, 3000, 5000]);
    assert.ok(shifted.pValue < 1e-6);
    assert.ok(Math.abs(mixDistance([500, 200, 300], [2000, 3000, 5000]) - 0.3) < 1e-9);
  });
});
