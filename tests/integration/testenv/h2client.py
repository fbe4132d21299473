"""One HTTP/2 request with prior knowledge (h2c), header list sent exactly as given: repeated,
odd or underscored names included, for the tests that must see what the gateway does with them."""
import socket

import h2.config
import h2.connection
import h2.events


def h2_request(port, headers, body=b"", timeout=5.0):
    """headers: [(name, value)] including the pseudo-headers. Returns (status, headers dict,
    body bytes); status is None when the stream was reset."""
    cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                    normalize_outbound_headers=False, validate_inbound_headers=False)
    conn = h2.connection.H2Connection(cfg)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, headers, end_stream=not body)
        if body:
            conn.send_data(sid, body, end_stream=True)
        s.sendall(conn.data_to_send())
        status, got, data = None, {}, b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            ended = False
            for ev in conn.receive_data(chunk):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    got = {k.decode(): v.decode() for k, v in ev.headers}
                    status = int(got[":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    data += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and ev.stream_id == sid:
                    ended = True
            s.sendall(conn.data_to_send())
            if ended:
                break
        return status, got, data
