"""Hardening (issue PS, item 6): HTTP message framing (RFC 9112 6.3). Two
different Content-Length values, Content-Length with Transfer-Encoding, or
a transfer coding other than chunked get 400 and a closed connection —
never a silent choice that a proxy in front might make differently (request
smuggling). A second request pipelined after the ambiguous one gets no
response."""
import socket

import pytest
import requests

from conftest import berth_factory  # noqa: F401  (fixture)

NEXT = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"


def exchange(port, raw):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(raw)
    data = b""
    try:
        while True:
            got = c.recv(65536)
            if not got:
                break
            data += got
    except socket.timeout:
        data += b"<still open>"
    finally:
        c.close()
    return data


AMBIGUOUS = {
    "two lengths": b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhellox",
    "length and chunked": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked and length": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "gzip, chunked": b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "unknown coding": b"Transfer-Encoding: foo\r\n\r\n0\r\n\r\n",
    "chunked twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "identity": b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello",
}


@pytest.mark.parametrize("name", sorted(AMBIGUOUS))
@pytest.mark.parametrize("target", [b"POST /v2/smug/app/blobs/uploads/", b"PUT /v2/smug/app/manifests/x",
                                    b"GET /v2/"])
def test_ambiguous_framing_is_refused(berth_factory, name, target):
    s = berth_factory()
    raw = target + b" HTTP/1.1\r\nHost: x\r\n" + AMBIGUOUS[name] + NEXT
    data = exchange(s.port, raw)
    assert data.startswith(b"HTTP/1.1 400 "), (name, data[:300])
    assert data.count(b"HTTP/1.1 ") == 1, (name, data)   # the pipelined request got nothing
    assert not data.endswith(b"<still open>"), (name, data)
    assert b"connection: close" in data.lower(), data


def test_unambiguous_framing_still_works(berth_factory):
    s = berth_factory()
    # one Content-Length twice with the same value is one length (RFC 9110 8.6)
    raw = (b"POST /v2/ok/app/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
           b"Content-Length: 0\r\n\r\n" + NEXT.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    data = exchange(s.port, raw)
    assert data.startswith(b"HTTP/1.1 202 "), data[:300]
    assert data.count(b"HTTP/1.1 ") == 2, data
    # plain chunked, then a pipelined request on the same connection
    loc = requests.post(s.url + "/v2/ok/app/blobs/uploads/", timeout=10).headers["Location"]
    path = loc if loc.startswith("/") else "/" + loc.split("/", 3)[3]
    raw = (b"PATCH " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
           + NEXT.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    data = exchange(s.port, raw)
    assert data.startswith(b"HTTP/1.1 202 "), data[:300]
    assert b"Range: 0-4" in data, data
    assert data.count(b"HTTP/1.1 ") == 2, data
