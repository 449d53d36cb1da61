import { useEffect, useState } from 'preact/hooks';
import { currentToken, onUnauthenticated, setToken } from './token.js';

/**
 * Asks for an API token once the leader refused a call for want of one (issue #20), and
 * shows that one is in use otherwise. Giving or forgetting it reloads the page: every view
 * and watch starts again with it.
 */
export function TokenBox() {
  const [asked, setAsked] = useState(false);
  const [typed, setTyped] = useState('');
  const [bad, setBad] = useState(false);
  useEffect(() => onUnauthenticated(setAsked), []);
  const token = currentToken();
  if (token !== undefined && !asked) {
    return (
      <button
        type="button"
        class="token-set"
        title="forget the token for this tab"
        onClick={() => {
          setToken(undefined);
          location.reload();
        }}
      >
        token ✓
      </button>
    );
  }
  if (!asked) return null;
  return (
    <form
      class="token-box"
      onSubmit={(e) => {
        e.preventDefault();
        // A header carries printable ASCII only: refuse a pasted curly quote here, not as
        // a network error later.
        const token = typed.trim().replace(/^Bearer\s+/i, '');
        if (!/^[\x21-\x7e]+$/.test(token)) {
          setTyped('');
          setBad(true);
          return;
        }
        setToken(token);
        location.reload();
      }}
    >
      <input
        name="token"
        type="password"
        autocomplete="off"
        placeholder={
          bad
            ? 'not a token: printable ASCII, no spaces'
            : token === undefined
              ? 'this leader needs a token'
              : 'token refused; another?'
        }
        value={typed}
        onInput={(e) => setTyped(e.currentTarget.value)}
      />
      <button type="submit">Use</button>
    </form>
  );
}
