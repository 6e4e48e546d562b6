"""Sizes and cold starts of Lambda function binaries, for `scripts/bench-functions`.

Each binary starts against a stand-in for the Lambda Runtime API on 127.0.0.1; its cold start is the time from
spawning the process to its first `GET /2018-06-01/runtime/invocation/next` (init done, ready for work), the
figure `benchmarks/spine.md` gives for `registries`. Nothing is invoked, so no AWS call is made.
"""

import http.server
import os
import statistics
import subprocess
import sys
import threading
import time

RUNS = 20


class Runtime(http.server.BaseHTTPRequestHandler):
    polled = None

    def do_GET(self):
        if Runtime.polled is not None and not Runtime.polled.is_set():
            Runtime.polled_at = time.perf_counter()
            Runtime.polled.set()
        # Hold the poll: the function waits here as it would for an invocation.
        time.sleep(5)

    def log_message(self, *args):
        pass


def cold_start(binary, port):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(binary),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PACKYARD_TABLE": "packyard-bench",
        "PACKYARD_BUCKET": "packyard-bench",
    }
    Runtime.polled = threading.Event()
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not Runtime.polled.wait(10):
            raise SystemExit(f"{binary} never polled the Runtime API")
        return (Runtime.polled_at - started) * 1000
    finally:
        process.kill()
        process.wait()


def main():
    out, label, binaries = sys.argv[1], sys.argv[2], sys.argv[3:]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    rows = []
    for binary in binaries:
        cold_start(binary, port)  # the first start warms the page cache, as a Lambda's image is warm on disk
        times = sorted(cold_start(binary, port) for _ in range(RUNS))
        size = os.path.getsize(binary) / (1024 * 1024)
        p90 = times[int(0.9 * (len(times) - 1))]
        rows.append(f"| {label} | `{os.path.basename(binary)}` | {size:.1f} MiB | {statistics.median(times):.1f} ms | {p90:.1f} ms |")
        print(rows[-1], flush=True)
    with open(out, "a") as report:
        report.write("\n".join(rows) + "\n")


main()
