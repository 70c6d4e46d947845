/** What an EPP needs from ext_proc: headers and both bodies FULL_DUPLEX_STREAMED with trailers SEND (a fresh copy each call). */
export function eppProcessingMode(): Record<string, string> {
  return {
    request_header_mode: 'SEND',
    response_header_mode: 'SEND',
    request_body_mode: 'FULL_DUPLEX_STREAMED',
    response_body_mode: 'FULL_DUPLEX_STREAMED',
    request_trailer_mode: 'SEND',
    response_trailer_mode: 'SEND',
  };
}
