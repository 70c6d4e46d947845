/**
 * A model-server stand-in for an InferencePool Pod (llm-d-inference-sim is not on any registry we may use): the
 * OpenAI endpoints answer with the server's own name, so a client sees which Pod served it, and `/metrics` serves
 * the vLLM gauges the EPP scrapes (names from gateway-api-inference-extension v1.5.0 pkg/epp/server/options.go),
 * with values a test sets.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface ModelServerMetrics {
  /** vllm:num_requests_waiting: the queue the EPP's queue scorer reads. */
  waiting: number;
  /** vllm:num_requests_running */
  running: number;
  /** vllm:kv_cache_usage_perc, 0..1 */
  kvCacheUsage: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ModelServer {
  name: string;
  host: string;
  port: number;
  metrics: ModelServerMetrics;
  /** Inference requests (not /metrics scrapes) in arrival order. */
  received: ReceivedRequest[];
  scrapes: number;
  close(): Promise<void>;
}

export const SERVED_BY_HEADER = 'x-served-by';

function metricsText(m: ModelServerMetrics): string {
  return [
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{model_name="sim"} ${m.waiting}`,
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{model_name="sim"} ${m.running}`,
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{model_name="sim"} ${m.kvCacheUsage}`,
    '# TYPE vllm:cache_config_info gauge',
    'vllm:cache_config_info{block_size="16",num_gpu_blocks="1024"} 1',
    '# TYPE vllm:lora_requests_info gauge',
    `vllm:lora_requests_info{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""} ${Date.now() / 1000}`,
    '',
  ].join('\n');
}

function completion(name: string, path: string, body: string): unknown {
  let model = 'unknown';
  try {
    model = JSON.parse(body).model ?? model;
  } catch {}
  let maxTokens = 3;
  try {
    maxTokens = Math.max(3, JSON.parse(body).max_tokens ?? 3);
  } catch {}
  // max_tokens of them: the answer's three words, then "tok" (a long completion is a long body).
  const text = `served by ${name}${' tok'.repeat(maxTokens - 3)}`;
  const usage = { prompt_tokens: 1, completion_tokens: maxTokens, total_tokens: maxTokens + 1 };
  if (path === '/v1/chat/completions') {
    return { id: `chatcmpl-${name}`, object: 'chat.completion', created: 0, model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage };
  }
  return { id: `cmpl-${name}`, object: 'text_completion', created: 0, model, choices: [{ index: 0, text, finish_reason: 'stop' }], usage };
}

/** The time between two events of a streamed completion (`stream: true`), as a model server spends on each token. */
export const STREAM_TOKEN_INTERVAL_MS = 150;

/**
 * A streamed completion as vLLM sends one (`stream: true`): a server-sent event per token, `max_tokens` of them (the
 * answer's three words, then "tok"), STREAM_TOKEN_INTERVAL_MS apart, then `data: [DONE]`.
 */
function streamCompletion(name: string, path: string, body: string, write: (event: string) => void, end: () => void): void {
  let request: { model?: string; max_tokens?: number } = {};
  try {
    request = JSON.parse(body);
  } catch {}
  const model = request.model ?? 'unknown';
  const count = Math.max(3, request.max_tokens ?? 3);
  const tokens = ['served', ' by', ` ${name}`, ...Array.from({ length: count - 3 }, () => ' tok')];
  const chunk = (text: string, last: boolean) =>
    path === '/v1/chat/completions'
      ? { id: `chatcmpl-${name}`, object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: { content: text }, finish_reason: last ? 'stop' : null }] }
      : { id: `cmpl-${name}`, object: 'text_completion', created: 0, model, choices: [{ index: 0, text, finish_reason: last ? 'stop' : null }] };
  let i = 0;
  const next = () => {
    if (i < tokens.length) {
      write(`data: ${JSON.stringify(chunk(tokens[i], i === tokens.length - 1))}\n\n`);
      i++;
      setTimeout(next, STREAM_TOKEN_INTERVAL_MS);
      return;
    }
    write('data: [DONE]\n\n');
    end();
  };
  next();
}

/** Listens on host:port (a loopback address other than 127.0.0.1 stands for the Pod's IP). */
export function startModelServer(name: string, host: string, port: number, metrics: Partial<ModelServerMetrics> = {}): Promise<ModelServer> {
  const state: ModelServer = {
    name,
    host,
    port,
    metrics: { waiting: 0, running: 0, kvCacheUsage: 0, ...metrics },
    received: [],
    scrapes: 0,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/metrics') {
        state.scrapes++;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText(state.metrics));
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      state.received.push({ method: req.method ?? '', path, headers: req.headers, body });
      if (req.method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions') && /"stream"\s*:\s*true/.test(body)) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', [SERVED_BY_HEADER]: name });
        streamCompletion(name, path, body, (event) => res.write(event), () => res.end());
        return;
      }
      if (req.method === 'POST' && (path === '/v1/completions' || path === '/v1/chat/completions')) {
        res.writeHead(200, { 'content-type': 'application/json', [SERVED_BY_HEADER]: name }).end(JSON.stringify(completion(name, path, body)));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain', [SERVED_BY_HEADER]: name }).end(`${name}: no route ${req.method} ${path}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(state));
  });
}
