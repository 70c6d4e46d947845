/**
 * What the rules say of the EPP's own defaults, asked of the EPP binary the data plane runs (cmd/epp, its --help):
 * EPP306 says a plaintext cluster fails because the EPP serves TLS unless told otherwise; the rules and fixes name
 * port 9002 as the EPP's ext_proc port.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dataPlaneBinaries } from './harness/binaries.ts';

const { stdout, stderr } = await promisify(execFile)((await dataPlaneBinaries()).epp, ['--help'], { timeout: 30_000 });
const help = stdout + stderr;

t.match(help, /--secure-serving\s+Enables secure serving\. \(default true\)/, 'EPP306: the EPP serves TLS by default (--secure-serving=true)');
t.match(help, /--grpc-port int\s+gRPC port used for communicating with Envoy proxy\. \(default 9002\)/, 'its ext_proc (gRPC) port is 9002 by default');
