"""The generator's HTTP/1.1 response parser: framing, split reads, keep-alive."""

from __future__ import annotations

import pytest

from loadtests.oloop_parse import ProtocolError, ResponseParser

BODY = b'{"intent": "greeting", "answer": "Hello!"}'
CL = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-LENGTH: %d\r\n"
      b"Server: x\r\n\r\n%s" % (len(BODY), BODY))
CHUNKED = (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"7\r\n" + BODY[:7] + b"\r\n"
           b"%x;name=value\r\n" % (len(BODY) - 7) + BODY[7:] + b"\r\n"
           b"0\r\nX-Checksum: 1\r\n\r\n")


def _feed_in_pieces(data: bytes, cut: int):
    p = ResponseParser()
    assert p.feed(data[:cut]) is None
    return p.feed(data[cut:])


def test_whole_response_in_one_read():
    assert ResponseParser().feed(CL) == (200, BODY, True)
    assert ResponseParser().feed(CHUNKED) == (201, BODY, True)


@pytest.mark.parametrize("data", [CL, CHUNKED], ids=["content-length", "chunked"])
def test_split_reads_at_every_byte(data):
    for cut in range(1, len(data)):
        assert _feed_in_pieces(data, cut) == (200 if data is CL else 201, BODY, True), cut


def test_byte_by_byte_chunked():
    p = ResponseParser()
    results = [p.feed(CHUNKED[i:i + 1]) for i in range(len(CHUNKED))]
    assert results[-1] == (201, BODY, True) and all(r is None for r in results[:-1])


def test_keep_alive_two_responses_on_one_connection():
    p = ResponseParser()
    assert p.feed(CL) == (200, BODY, True)
    assert p.feed(CHUNKED) == (201, BODY, True)
    # both in one read (pipelined): the second stays buffered until the next feed
    q = ResponseParser()
    assert q.feed(CL + CL[:10]) == (200, BODY, True)
    assert q.feed(CL[10:]) == (200, BODY, True)


def test_connection_close_and_http10():
    close = CL.replace(b"Server: x", b"Connection: close")
    assert ResponseParser().feed(close) == (200, BODY, False)
    http10 = CL.replace(b"HTTP/1.1", b"HTTP/1.0")
    assert ResponseParser().feed(http10)[2] is False
    keep10 = http10.replace(b"Server: x", b"Connection: keep-alive")
    assert ResponseParser().feed(keep10)[2] is True
    # "close" elsewhere in the head does not close the connection
    assert ResponseParser().feed(CL.replace(b"Server: x", b"X-Note: close"))[2] is True


def test_close_delimited_body_ends_at_eof():
    p = ResponseParser()
    assert p.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhel") is None
    assert p.feed(b"lo") is None
    assert p.eof() == (200, b"hello", False)
    assert ResponseParser().eof() is None  # an idle connection closing is no response


def test_no_body_statuses_and_interim_responses():
    assert ResponseParser().feed(b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n") == (
        304, b"", True)
    assert ResponseParser().feed(b"HTTP/1.1 204 No Content\r\n\r\n") == (204, b"", True)
    assert ResponseParser().feed(b"HTTP/1.1 100 Continue\r\n\r\n" + CL) == (200, BODY, True)


def test_truncated_or_garbage_is_a_protocol_error():
    p = ResponseParser()
    assert p.feed(CL[:-5]) is None
    with pytest.raises(ProtocolError):
        p.eof()
    with pytest.raises(ProtocolError):
        ResponseParser().feed(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(ProtocolError):
        ResponseParser().feed(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n")
    with pytest.raises(ProtocolError):
        ResponseParser().feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
