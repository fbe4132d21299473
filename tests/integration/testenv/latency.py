"""Per-request latencies under closed-loop load, for the balancing test and `make bench`: each
connection is a process of its own (no interpreter lock between them) sending GET after GET on
one keep-alive connection and timing each. wrk's latency figures are not per request, so a tail
that one request in a hundred makes would not show in them."""
import multiprocessing
import socket
import time


def _connection(port, path, seconds, out):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    lat, buf, statuses = [], b"", {}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        s.sendall(req)
        while True:
            i = buf.find(b"\r\n\r\n")
            if i >= 0:
                head = buf[:i].lower()
                j = head.find(b"content-length:")
                n = int(head[j + 15:].split(b"\r\n")[0]) if j >= 0 else 0
                if len(buf) >= i + 4 + n:
                    status = int(head.split(b" ")[1])
                    statuses[status] = statuses.get(status, 0) + 1
                    buf = buf[i + 4 + n:]
                    break
            got = s.recv(65536)
            if not got:
                raise RuntimeError("the connection closed")
            buf += got
        lat.append(time.perf_counter() - t)
    s.close()
    out.put((lat, statuses))


def closed_loop(port, path, connections=4, seconds=3.0):
    """Latencies in seconds (sorted) and statuses of every request the connections made."""
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_connection, args=(port, path, seconds, q))
             for _ in range(connections)]
    for p in procs:
        p.start()
    lat, statuses = [], {}
    for _ in procs:
        got, st = q.get(timeout=seconds + 30)
        lat.extend(got)
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    for p in procs:
        p.join()
    lat.sort()
    return lat, statuses


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100.0))]
