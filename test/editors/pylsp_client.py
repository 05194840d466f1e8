"""Several asks in flight on one connection, through python-lsp-jsonrpc (a JSON-RPC client
nobody here wrote): run by test/e2e/editors.test.ts, prints what it saw as JSON on stdout."""
import json
import os
import socket
import sys
import threading
import time
from concurrent import futures

from pylsp_jsonrpc.endpoint import Endpoint
from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(os.environ['AID_SOCKET'])
reader = JsonRpcStreamReader(sock.makefile('rb'))
writer = JsonRpcStreamWriter(sock.makefile('wb'))

lock = threading.Lock()
deltas = {}
starts = {}


def on_delta(params):
    with lock:
        deltas.setdefault(params['streamToken'], []).append(params['text'])


def on_start(params):
    with lock:
        starts[params['streamToken']] = params


ids = []


def next_id():
    ids.append('py-%d' % len(ids))
    return ids[-1]


endpoint = Endpoint({'aid/ask/delta': on_delta, 'aid/ask/start': on_start}, writer.write, id_generator=next_id)
threading.Thread(target=reader.listen, args=(endpoint.consume,), daemon=True).start()

out = {}
out['handshake'] = endpoint.request('aid/handshake', {
    'clientVersion': '0.0.0-pylsp', 'protocolVersion': int(os.environ['AID_PROTOCOL_VERSION']), 'client': 'pylsp-jsonrpc', 'capabilities': [],
}).result(timeout=10)

prompts = {'p-%d' % i: 'question number %d' % i for i in range(4)}
asks = {}
ask_ids = {}
for token, prompt in prompts.items():
    asks[token] = endpoint.request('aid/ask', {'prompt': prompt, 'model': 'slow/llama3.2', 'streamToken': token, 'noContext': True})
    ask_ids[token] = ids[-1]
# All four stream at once: each has text before any has finished.
while True:
    with lock:
        if all(deltas.get(t) for t in prompts) or any(f.done() for f in asks.values()):
            break
    time.sleep(0.01)
out['allStreamingAtOnce'] = not any(f.done() for f in asks.values())
# The last one is cancelled with the standard $/cancelRequest (Future.cancel() in this library
# would send it too, but then trips over the answer), and answers -32800; the others run to their end.
endpoint.notify('$/cancelRequest', {'id': ask_ids['p-3']})
try:
    asks['p-3'].result(timeout=30)
    out['cancelAnswer'] = 'a result'
except Exception as e:  # pylint: disable=broad-except
    out['cancelAnswer'] = {'type': type(e).__name__, 'code': getattr(e, 'code', None)}
results = {}
for token in ['p-0', 'p-1', 'p-2']:
    results[token] = asks[token].result(timeout=30)
out['results'] = {t: {'sessionId': r['sessionId'], 'finishReason': r['finishReason']} for t, r in results.items()}
out['texts'] = {t: ''.join(deltas.get(t, [])) for t in prompts}
out['starts'] = starts
out['statusAfter'] = endpoint.request('aid/status').result(timeout=10)['pid']
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)
