// Connection settings from client properties files, the environment and flags: parsing, precedence, the errors a user
// meets, and secrets that never print. Certificates are real (made by the secure broker's own openssl code).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { before, after, describe, test } from 'node:test';
import { ensureSecurityFiles, type SecurityFiles } from '../../src/broker/index.ts';
import { clientSecurityOptions, describeConnection, parseJaasConfig, parseProperties, resolveConnection } from '../../src/kafka/index.ts';

const PASSWORD = 'pw-Secret-4711';

let dir: string;
let pki: SecurityFiles;
let keystorePassword: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lagless-client-props-'));
  const made = await ensureSecurityFiles(dir);
  pki = made.files;
  keystorePassword = made.credentials.keystore;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('parseProperties', () => {
  test('reads Java properties: = : and blank separators, comments, continuations and escapes', () => {
    const text = [
      '# a comment',
      '! another',
      '',
      'bootstrap.servers = a:9092,\\',
      '    b:9092',
      'security.protocol:SASL_SSL',
      'sasl.mechanism PLAIN',
      'sasl.password=p\\u0041ss\\=word\\\\',
      '  sasl.username=  user  ',
    ].join('\n');
    assert.deepEqual(
      parseProperties(text).map(({ key, value }) => [key, value]),
      [
        ['bootstrap.servers', 'a:9092,b:9092'],
        ['security.protocol', 'SASL_SSL'],
        ['sasl.mechanism', 'PLAIN'],
        ['sasl.password', 'pAss=word\\'],
        ['sasl.username', 'user  '],
      ],
    );
  });

  test('reads username and password from a JAAS line', () => {
    assert.deepEqual(
      parseJaasConfig('org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a \\"quoted\\" pw";'),
      { module: 'org.apache.kafka.common.security.scram.ScramLoginModule', options: { username: 'alice', password: 'a "quoted" pw' } },
    );
  });
});

describe('resolveConnection', () => {
  test('defaults: 127.0.0.1:9092 in plaintext', () => {
    assert.deepEqual(resolveConnection({ env: {} }).connection, { brokers: ['127.0.0.1:9092'] });
  });

  test('a Confluent Cloud style file: SASL_SSL, PLAIN, public CAs; properties Lagless does not use are named, not applied', async () => {
    const path = await file(
      'ccloud.properties',
      [
        '# Required connection configs for Kafka producer, consumer, and admin',
        'bootstrap.servers=pkc-xxxxx.europe-west1.gcp.confluent.cloud:9092',
        'security.protocol=SASL_SSL',
        'sasl.mechanisms=PLAIN',
        'sasl.username=ABCDEFGHIJKLMNOP',
        `sasl.password=${PASSWORD}`,
        '# Best practice for higher availability in librdkafka clients prior to 1.7',
        'session.timeout.ms=45000',
        'client.dns.lookup=use_all_dns_ips',
        'acks=all',
      ].join('\n'),
    );
    const r = resolveConnection({ configFile: path, env: {} });
    assert.deepEqual(r.connection.brokers, ['pkc-xxxxx.europe-west1.gcp.confluent.cloud:9092']);
    assert.equal(r.connection.sasl?.mechanism, 'PLAIN');
    assert.equal(r.connection.sasl?.username, 'ABCDEFGHIJKLMNOP');
    assert.equal(r.connection.sasl?.password.reveal(), PASSWORD);
    assert.equal(r.connection.tls?.ca, undefined, "no ssl.ca.location: Node's public CAs");
    assert.deepEqual(r.ignored, [{ file: path, names: ['session.timeout.ms', 'client.dns.lookup', 'acks'] }]);
    const opts = clientSecurityOptions(r.connection);
    assert.equal(opts.tls?.rejectUnauthorized, true);
    assert.equal(typeof opts.sasl?.password, 'function', 'the client gets the password behind a function');
  });

  test('a Java style file (MSK / Kafka tools): sasl.jaas.config and a PEM truststore', async () => {
    const path = await file(
      'java.properties',
      [
        'bootstrap.servers=b-1.example.kafka.us-east-1.amazonaws.com:9096,b-2.example.kafka.us-east-1.amazonaws.com:9096',
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="msk-user" password="${PASSWORD}";`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${pki.caPem}`,
        'ssl.endpoint.identification.algorithm=https',
      ].join('\n'),
    );
    const c = resolveConnection({ configFile: path, env: {} }).connection;
    assert.equal(c.brokers.length, 2);
    assert.deepEqual([c.sasl?.mechanism, c.sasl?.username, c.sasl?.password.reveal()], ['SCRAM-SHA-512', 'msk-user', PASSWORD]);
    assert.match(c.tls?.ca ?? '', /BEGIN CERTIFICATE/);
    assert.match(c.tls?.caSource ?? '', /ca\.pem \(CN=Lagless local CA/);
  });

  test('precedence per setting: flags, then --kafka-config, then environment, then $KAFKA_CONFIG, then defaults', async () => {
    const envFile = await file(
      'env.properties',
      ['bootstrap.servers=envfile:1', 'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=envfile-user', 'sasl.password=envfile-pw'].join('\n'),
    );
    const flagFile = await file('flag.properties', ['bootstrap.servers=flagfile:1', 'sasl.username=flagfile-user'].join('\n'));
    const env = { KAFKA_CONFIG: envFile, KAFKA_BROKERS: 'env:1', KAFKA_SASL_USERNAME: 'env-user', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256' };

    const onlyEnv = resolveConnection({ env }).connection;
    assert.deepEqual(onlyEnv.brokers, ['env:1'], 'a variable beats the $KAFKA_CONFIG file');
    assert.equal(onlyEnv.sasl?.username, 'env-user');
    assert.equal(onlyEnv.sasl?.mechanism, 'SCRAM-SHA-256');
    assert.equal(onlyEnv.sasl?.password.reveal(), 'envfile-pw', 'what nothing else sets comes from the $KAFKA_CONFIG file');

    const withFile = resolveConnection({ env, configFile: flagFile }).connection;
    assert.deepEqual(withFile.brokers, ['flagfile:1'], 'the --kafka-config file beats the environment');
    assert.equal(withFile.sasl?.username, 'flagfile-user');
    assert.equal(withFile.sasl?.mechanism, 'SCRAM-SHA-256', 'the environment still sets what the file does not');

    const withFlags = resolveConnection({
      env,
      configFile: flagFile,
      flags: { 'bootstrap.servers': { value: 'flag:1,flag:2', flag: '--brokers' }, 'sasl.username': { value: 'flag-user', flag: '--sasl-username' } },
    }).connection;
    assert.deepEqual(withFlags.brokers, ['flag:1', 'flag:2'], 'flags beat everything');
    assert.equal(withFlags.sasl?.username, 'flag-user');
  });

  test('mutual TLS from PEM files, from a PKCS12 keystore, and from a PEM keystore', async () => {
    const pem = resolveConnection({
      env: {},
      flags: {
        'security.protocol': { value: 'SSL', flag: '--security-protocol' },
        'ssl.ca.location': { value: pki.caPem, flag: '--ssl-ca' },
        'ssl.certificate.location': { value: pki.clientCert, flag: '--ssl-cert' },
        'ssl.key.location': { value: pki.clientKey, flag: '--ssl-key' },
      },
    }).connection;
    assert.match(pem.tls?.cert ?? '', /BEGIN CERTIFICATE/);
    assert.match(pem.tls?.key?.reveal() ?? '', /PRIVATE KEY/);
    assert.equal(pem.tls?.clientCertSource, pki.clientCert);

    const p12 = resolveConnection({
      env: { KAFKA_SSL_KEYSTORE_PASSWORD: keystorePassword },
      configFile: await file('p12.properties', ['security.protocol=SSL', `ssl.ca.location=${pki.caPem}`, 'ssl.keystore.type=PKCS12', `ssl.keystore.location=${pki.clientP12}`].join('\n')),
    }).connection;
    assert.ok(p12.tls?.pfx, 'the keystore is handed to TLS as pfx');

    const wrong = await file('p12-wrong.properties', ['security.protocol=SSL', `ssl.keystore.location=${pki.clientP12}`, 'ssl.keystore.password=not-it'].join('\n'));
    assert.throws(
      () => resolveConnection({ configFile: wrong, env: {} }),
      (e: Error & { code?: string }) => e.code === 'USAGE' && /client certificate .*client\.p12 and its key cannot be used/.test(e.message) && !e.message.includes('not-it'),
    );

    const combined = await file('combined.pem', (await readFile(pki.clientKey, 'utf8')) + (await readFile(pki.clientCert, 'utf8')));
    const pemStore = resolveConnection({
      env: {},
      configFile: await file('pemstore.properties', ['security.protocol=SSL', 'ssl.keystore.type=PEM', `ssl.keystore.location=${combined}`].join('\n')),
    }).connection;
    assert.match(pemStore.tls?.cert ?? '', /BEGIN CERTIFICATE/);
  });

  test('errors name the setting and where it was set, and never quote a secret', async () => {
    const cases: { what: string; file?: string[]; env?: Record<string, string>; expect: RegExp }[] = [
      { what: 'unknown protocol', env: { KAFKA_SECURITY_PROTOCOL: 'TLS' }, expect: /security.protocol "TLS" \(set by KAFKA_SECURITY_PROTOCOL\) is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/ },
      { what: 'SASL settings without a SASL protocol', env: { KAFKA_SASL_USERNAME: 'u' }, expect: /sasl.username is set \(set by KAFKA_SASL_USERNAME\) but security.protocol is PLAINTEXT/ },
      { what: 'TLS settings without TLS', file: [`ssl.ca.location=${'/x/ca.pem'}`], expect: /ssl.ca.location is set \(set by .*:1\) but security.protocol is PLAINTEXT, which does not use TLS/ },
      { what: 'no mechanism', file: ['security.protocol=SASL_SSL'], expect: /sasl.mechanism is not set/ },
      { what: 'Kerberos', file: ['security.protocol=SASL_SSL', 'sasl.mechanism=GSSAPI'], expect: /Kerberos is not supported/ },
      { what: 'no password', file: ['security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', 'sasl.username=u'], expect: /no password is set for user "u".*KAFKA_SASL_PASSWORD.*no password flag/s },
      {
        what: 'a JAAS module for another mechanism',
        file: ['security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-256', `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="${PASSWORD}";`],
        expect: /uses PlainLoginModule, but sasl.mechanism is SCRAM-SHA-256/,
      },
      { what: 'host name check turned off', file: ['security.protocol=SSL', 'ssl.endpoint.identification.algorithm='], expect: /always checks the broker's host name/ },
      { what: 'verification turned off', file: ['security.protocol=SSL', 'enable.ssl.certificate.verification=false'], expect: /always verifies the broker's certificate/ },
      { what: 'a JKS truststore', file: ['security.protocol=SSL', `ssl.truststore.location=${'PLACEHOLDER_P12'}`, 'ssl.truststore.type=JKS'], expect: /JKS truststore; .*PEM only.*keytool -list -rfc/ },
      { what: 'two CA sources', file: ['security.protocol=SSL', 'ssl.ca.location=/a.pem', 'ssl.truststore.location=/b.pem'], expect: /the CA to trust is set twice/ },
      { what: 'a certificate without its key', file: ['security.protocol=SSL', `ssl.certificate.location=${'PLACEHOLDER_CERT'}`], expect: /ssl.certificate.location is set .* but ssl.key.location is not/ },
      { what: 'a missing CA file', file: ['security.protocol=SSL', 'ssl.ca.location=/nonexistent/ca.pem'], expect: /ssl.ca.location \(set by .*\): cannot read \/nonexistent\/ca.pem \(ENOENT\)/ },
      { what: 'a bad bootstrap address', env: { KAFKA_BROKERS: 'no-port' }, expect: /bootstrap.servers: "no-port" is not host:port/ },
    ];
    for (const c of cases) {
      const lines = (c.file ?? []).map((l) => l.replace('PLACEHOLDER_P12', pki.clientP12).replace('PLACEHOLDER_CERT', pki.clientCert));
      // SASL cases carry a password (except the one about its absence), to check that no message quotes it.
      const withPassword = lines.some((x) => x.startsWith('security.protocol=SASL')) && c.what !== 'no password';
      const configFile = c.file ? await file('case.properties', [...lines, ...(withPassword ? [`sasl.password=${PASSWORD}`] : [])].join('\n')) : undefined;
      assert.throws(
        () => resolveConnection({ env: c.env ?? {}, ...(configFile ? { configFile } : {}) }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'USAGE', `${c.what}: ${e.message}`);
          assert.match(e.message, c.expect, c.what);
          assert.ok(!e.message.includes(PASSWORD), `${c.what}: the message quotes the password`);
          return true;
        },
      );
    }
    await assert.rejects(async () => resolveConnection({ env: {}, configFile: join(dir, 'missing.properties') }), /option --kafka-config: cannot read the client properties file .*missing.properties \(ENOENT\)/);
  });

  test('secrets never print: JSON, inspect, template strings and the log description show no password or key', async () => {
    const c = resolveConnection({
      env: { KAFKA_SASL_PASSWORD: PASSWORD },
      configFile: await file(
        'all.properties',
        ['security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', 'sasl.username=u', `ssl.ca.location=${pki.caPem}`, `ssl.certificate.location=${pki.clientCert}`, `ssl.key.location=${pki.clientKey}`].join('\n'),
      ),
    }).connection;
    const keyBody = (await readFile(pki.clientKey, 'utf8')).split('\n')[1]!;
    for (const [how, text] of [
      ['JSON', JSON.stringify(c)],
      ['inspect', inspect(c, { depth: 10 })],
      ['template', `${c.sasl?.password} ${c.tls?.key}`],
      ['describeConnection', describeConnection(c)],
    ] as const) {
      assert.ok(!text.includes(PASSWORD), `${how} shows the password`);
      assert.ok(!text.includes(keyBody), `${how} shows the private key`);
    }
    assert.equal(describeConnection(c), `127.0.0.1:9092 (SASL_SSL, SCRAM-SHA-512 as "u", trusting ${c.tls?.caSource}, client certificate ${pki.clientCert})`);
  });
});
