// jshttp's on-headers ships no types (and @types/on-headers is another package's): its one function.
declare module 'on-headers' {
  import type { ServerResponse } from 'node:http';
  function onHeaders(response: ServerResponse, listener: (this: ServerResponse) => void): void;
  export default onHeaders;
}
