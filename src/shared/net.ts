import { isIP } from 'node:net';
import { InvalidArgumentError } from './errors.js';

/** A host and port, parsed from "host:port" or "[v6]:port". */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "host:port", "[::1]:port" or ":port" (loopback); throws a readable error. */
export function parseHostPort(text: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match) throw new InvalidArgumentError(`"${text}" is not an address of the form host:port`);
  if (port > 65535) {
    throw new InvalidArgumentError(`"${text}": port ${port} is out of range (0-65535)`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/** "host:port" with IPv6 hosts bracketed, as grpc-js expects. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** True for 0.0.0.0 and :: : what a server binds to, never what a client can dial. */
export function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0';
}
