import assert from 'node:assert/strict';
import { ScramClient } from '../../../../src/lib/kafka/protocol/sasl.js';

describe('lib/kafka/protocol/sasl', () => {
  // RFC 7677 section 3: user "user", password "pencil"
  const serverFirst =
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';

  it('SCRAM-SHA-256 gives the RFC 7677 messages and checks the server', () => {
    const scram = new ScramClient('SCRAM-SHA-256', 'user', 'pencil', 'rOprNGfwEbeRWgbNEkqO');
    assert.equal(scram.first(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    assert.equal(
      scram.final(serverFirst),
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,' +
        'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    assert.equal(scram.check('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), undefined);
    assert.match(scram.check('v=AAAA') ?? '', /does not match/);
    assert.equal(scram.check('e=invalid-proof'), 'invalid-proof');
  });

  it('refuses a challenge that does not extend its nonce, and escapes the user name', () => {
    const scram = new ScramClient('SCRAM-SHA-512', 'a,b=c', 'pw', 'abc');
    assert.equal(scram.first(), 'n,,n=a=2Cb=3Dc,r=abc');
    assert.throws(() => scram.final('r=zzz,s=c2FsdA==,i=4096'), { code: 'GP_KAFKA_AUTH' });
  });
});
