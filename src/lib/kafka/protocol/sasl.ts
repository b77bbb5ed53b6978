/**
 * SASL on a fresh connection, before any other request: SaslHandshake names the mechanism, then
 * SaslAuthenticate requests carry its messages (KIP-152). PLAIN is one message (RFC 4616); SCRAM
 * is the RFC 5802 exchange with SHA-256 or SHA-512 (RFC 7677), as Kafka's ScramSaslServer does it.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KafkaSasl, SaslMechanism } from '../../core/config.js';
import { ErrorCodes, GamepipeError } from '../../core/errors.js';
import { WireReader, WireWriter } from './codec.js';
import { KAFKA_ERRORS } from './errors.js';

const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

/** What sends one request on the connection being authenticated. */
export type Requester = (apiKey: number, apiVersion: number, body: Buffer) => Promise<Buffer>;

export const SASL_HINT =
  'check kafkaSaslUsername and the password (kafkaSaslPasswordFile or GAMEPIPE_KAFKA_SASL_PASSWORD), ' +
  'and that the user exists for this mechanism on the cluster';

function authError(
  address: string,
  sasl: KafkaSasl,
  what: string,
  hint = SASL_HINT,
): GamepipeError {
  return new GamepipeError(
    ErrorCodes.kafkaAuth,
    `Kafka at ${address} refused SASL ${sasl.mechanism} login of user ${sasl.username}: ${what}`,
    { hint, context: { brokers: address, mechanism: sasl.mechanism, user: sasl.username } },
  );
}

/** Logs the connection in; throws GP_KAFKA_AUTH (not retriable) when the broker says no. */
export async function authenticate(
  request: Requester,
  address: string,
  sasl: KafkaSasl,
  nonce: () => string = () => randomBytes(24).toString('base64'),
): Promise<void> {
  const handshake = new WireReader(
    await request(SASL_HANDSHAKE, 1, new WireWriter().string(sasl.mechanism).toBuffer()),
  );
  const code = handshake.int16();
  if (code !== 0) {
    const enabled: string[] = [];
    for (let n = handshake.int32(); n > 0; n--) enabled.push(handshake.string() ?? '');
    throw authError(
      address,
      sasl,
      `the mechanism is not enabled (${KAFKA_ERRORS[code] ?? code}; enabled: ${enabled.join(', ') || 'none'})`,
      `set kafkaSaslMechanism to one the cluster enables: ${enabled.join(', ') || 'ask its operator'}`,
    );
  }
  const send = async (message: Buffer): Promise<Buffer> => {
    const r = new WireReader(
      await request(
        SASL_AUTHENTICATE,
        1,
        new WireWriter().int32(message.length).bytes(message).toBuffer(),
      ),
    );
    const error = r.int16();
    const text = r.string();
    const bytes = r.sizedBytes() ?? Buffer.alloc(0);
    if (error !== 0) throw authError(address, sasl, text ?? KAFKA_ERRORS[error] ?? String(error));
    return bytes;
  };
  if (sasl.mechanism === 'PLAIN') {
    await send(Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
    return;
  }
  const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password, nonce());
  const serverFirst = (await send(Buffer.from(scram.first()))).toString('utf8');
  const serverFinal = (await send(Buffer.from(scram.final(serverFirst)))).toString('utf8');
  const problem = scram.check(serverFinal);
  if (problem) throw authError(address, sasl, problem);
}

const SCRAM_HASH: Record<Exclude<SaslMechanism, 'PLAIN'>, { hash: string; bytes: number }> = {
  'SCRAM-SHA-256': { hash: 'sha256', bytes: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', bytes: 64 },
};

/** RFC 5802's client, one exchange; the nonce is given so the RFC's test vectors can check it. */
export class ScramClient {
  private readonly hash: string;
  private readonly bytes: number;
  private readonly firstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    mechanism: Exclude<SaslMechanism, 'PLAIN'>,
    username: string,
    private readonly password: string,
    private readonly nonce: string,
  ) {
    ({ hash: this.hash, bytes: this.bytes } = SCRAM_HASH[mechanism]);
    // RFC 5802 5.1: ',' and '=' in a user name are escaped
    const name = username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.firstBare = `n=${name},r=${nonce}`;
  }

  /** client-first-message: no channel binding (gs2 header "n,,"). */
  first(): string {
    return `n,,${this.firstBare}`;
  }

  /** client-final-message, with the proof, for the server's first message. */
  final(serverFirst: string): string {
    const fields = scramFields(serverFirst);
    const nonce = fields.get('r') ?? '';
    const salt = Buffer.from(fields.get('s') ?? '', 'base64');
    const iterations = Number(fields.get('i'));
    if (!nonce.startsWith(this.nonce) || salt.length === 0 || !(iterations > 0)) {
      throw new GamepipeError(
        ErrorCodes.kafkaAuth,
        `the broker's SCRAM challenge is not valid (${serverFirst.slice(0, 80)})`,
        { hint: 'check that the brokers are Kafka and kafkaSaslMechanism is what they enable' },
      );
    }
    const salted = pbkdf2Sync(
      this.password.normalize('NFKC'),
      salt,
      iterations,
      this.bytes,
      this.hash,
    );
    const clientKey = this.hmac(salted, 'Client Key');
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`; // biws = base64("n,,")
    const authMessage = `${this.firstBare},${serverFirst},${withoutProof}`;
    const signature = this.hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] ?? 0) ^ (signature[i] ?? 0);
    this.serverSignature = this.hmac(this.hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** What is wrong with the server's final message, or undefined when it proves the server. */
  check(serverFinal: string): string | undefined {
    const fields = scramFields(serverFinal);
    const error = fields.get('e');
    if (error !== undefined) return error;
    const v = Buffer.from(fields.get('v') ?? '', 'base64');
    const want = this.serverSignature;
    if (!want || v.length !== want.length || !timingSafeEqual(v, want)) {
      return "the broker's SCRAM signature does not match: it does not know this password";
    }
    return undefined;
  }

  private hmac(key: Buffer, text: string): Buffer {
    return createHmac(this.hash, key).update(text).digest();
  }
}

function scramFields(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}
