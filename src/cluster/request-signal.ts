import { IsomorphicFetchHttpLibrary, type HttpLibrary } from '@kubernetes/client-node';

/** Options for one client-node API call that `signal` aborts: its generated APIs take no AbortSignal, the HTTP library does. */
export function requestSignal(signal: AbortSignal): { httpApi: HttpLibrary } {
  const fetchLibrary = new IsomorphicFetchHttpLibrary();
  return {
    httpApi: {
      send(request) {
        request.setSignal(signal);
        return fetchLibrary.send(request);
      },
    },
  };
}
