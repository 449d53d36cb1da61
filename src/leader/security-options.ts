import { listOption, switchOption, textOption } from '../shared/options/kinds.js';
import { optionTable } from '../shared/options/table.js';

/**
 * The leader's security options (section `tls`): TLS, client certificates, tokens, and
 * who may join as a worker. Part of LEADER_OPTIONS, in its help's order.
 */
export const SECURITY_OPTIONS = optionTable([
  textOption({
    section: 'tls',
    key: 'certFile',
    flags: '--tls-cert <file>',
    help: 'PEM certificate; enables TLS',
    env: 'DROVER_TLS_CERT',
    docs: { meaning: 'serve TLS (with `--tls-key`)' },
  }),
  textOption({
    section: 'tls',
    key: 'keyFile',
    flags: '--tls-key <file>',
    help: 'PEM private key for --tls-cert',
    env: 'DROVER_TLS_KEY',
  }),
  textOption({
    section: 'tls',
    key: 'clientCaFile',
    flags: '--tls-client-ca <file>',
    help: 'PEM CA; clients must present a cert it signed (mTLS)',
    env: 'DROVER_TLS_CLIENT_CA',
    docs: { meaning: 'require client certificates signed by this CA (mTLS)' },
  }),
  switchOption({
    section: 'tls',
    key: 'allowInsecure',
    flags: '--allow-insecure',
    help: 'serve plaintext on non-loopback addresses (only inside a private network)',
    env: 'DROVER_ALLOW_INSECURE',
    default: false,
    docs: { meaning: 'allow plaintext on non-loopback addresses' },
  }),
  textOption({
    section: 'tls',
    key: 'tokensFile',
    flags: '--tokens-file <file>',
    help: 'API and join tokens (hashed; drover token create): every call must carry one',
    env: 'DROVER_TOKENS_FILE',
    docs: { meaning: 'require a bearer token with the right role on every call', default: 'none' },
  }),
  switchOption({
    section: 'tls',
    key: 'auth',
    flags: '--no-auth',
    help: 'serve non-loopback addresses without tokens (only inside a private network)',
    env: 'DROVER_NO_AUTH',
    docs: { meaning: 'allow non-loopback addresses without --tokens-file' },
  }),
  listOption({
    section: 'tls',
    key: 'httpAllowedHosts',
    flags: '--http-allowed-host <names...>',
    help: 'Host names a loopback-only HTTP API also answers to (a reverse proxy in front)',
    env: 'DROVER_HTTP_ALLOWED_HOSTS',
    default: [],
    docs: {
      meaning:
        'more `Host` names a loopback-only HTTP API answers to (one in front of it); see "Web pages cannot drive a leader"',
      default: 'none',
    },
  }),
  listOption({
    section: 'tls',
    key: 'workerCertNames',
    flags: '--worker-cert-name <names...>',
    help: 'admit workers whose client certificate (--tls-client-ca) has one of these names',
    env: 'DROVER_WORKER_CERT_NAMES',
    default: [],
    docs: {
      meaning:
        'admit as workers only clients whose certificate names one of these (CN or DNS name)',
      default: 'none',
    },
  }),
]);
