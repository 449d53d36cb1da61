import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { checkId } from './text.js';

/** Source of fresh identifiers; injected so tests can make them predictable. */
export interface IdSource {
  /** A new task id (a UUID). */
  taskId(): string;
  /** A short random token (hex), e.g. a worker process instance. */
  token(): string;
  /** An unguessable secret (128 random bits, hex), e.g. a member's stream session. */
  secret(): string;
}

/** Random ids from node:crypto. */
export const randomIds: IdSource = {
  taskId: () => randomUUID(),
  token: () => randomBytes(6).toString('hex'),
  secret: () => randomBytes(16).toString('hex'),
};

/** A new API or join token (issue #20): 256 random bits, base64url, with a `drv_` prefix. */
export function newApiToken(): string {
  return `drv_${randomBytes(32).toString('base64url')}`;
}

/** A member id for a worker that was not given one: host name plus a random suffix. */
export function defaultMemberId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

/** Identifies a task; unique within a leader's task list. */
export type TaskId = string & { readonly __brand: 'TaskId' };

/** Identifies a cluster member (a worker). */
export type MemberId = string & { readonly __brand: 'MemberId' };

/** Brands a checked string as a task id. */
export const asTaskId = (id: string): TaskId => id as TaskId;

/** Brands a checked string as a member id. */
export const asMemberId = (id: string): MemberId => id as MemberId;

/** A member id from outside (a request, a URL), checked as every id is; `what` names it. */
export function memberIdFromWire(id: string, what = 'member id'): MemberId {
  return checkId(id, what) as MemberId;
}
