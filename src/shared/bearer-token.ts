import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';

/**
 * A client interceptor that sends `authorization: Bearer <token>` on every call (issue #20).
 * An interceptor, not call credentials: grpc-js sends call credentials only over TLS, and a
 * loopback leader with tokens is plaintext.
 */
export function bearerInterceptor(token: string): Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set('authorization', value);
        next(metadata, listener);
      },
    });
}
